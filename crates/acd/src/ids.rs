//! Identifiers: names from the configuration (queues, agents, skills, reason codes) and the ids the
//! engine and the router hand each other (calls, offers).

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Arc<str>);

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(Arc::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(Arc::from(s))
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// A queue's name from the configuration (`sales`, `support-fr`).
    QueueName
);
name_type!(
    /// An agent's name from the configuration (`alice`, `1001`).
    AgentName
);
name_type!(
    /// A skill's name (`french`, `billing`); agents hold it at a proficiency level.
    SkillName
);
name_type!(
    /// Why an agent is Not Ready (`lunch`, `training`, `rona`), as the operator configured it.
    ReasonCode
);

/// One customer interaction. The engine's `call_id` (a UUIDv7) fits in the `u128`; the router only
/// compares and hashes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u128);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// One offer: one call ringing one agent. Ring-all makes one offer per agent rung. Ids only
/// grow, so an answer that arrives for an offer already cancelled is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfferId(pub u64);

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offer-{}", self.0)
    }
}

/// Dense index of an agent inside the router (position in its agent table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct AgentIdx(pub(crate) u32);

/// Dense index of a queue inside the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct QueueIdx(pub(crate) u32);

/// Dense index of an interned skill name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SkillIdx(pub(crate) u32);

impl AgentIdx {
    pub(crate) fn at(self) -> usize {
        self.0 as usize
    }
}

impl QueueIdx {
    pub(crate) fn at(self) -> usize {
        self.0 as usize
    }
}
