//! Spoken numbers and queue announcements assembled from recorded clips, and the prompt
//! library that holds the clips.
//!
//! Clip naming (files `config/prompts/<name>.wav`, 8 kHz mono):
//!
//! | clips | spoken |
//! | --- | --- |
//! | `digits/0` … `digits/19` | "zero" … "nineteen" |
//! | `digits/20`, `digits/30` … `digits/90` | "twenty" … "ninety" |
//! | `digits/hundred`, `digits/thousand`, `digits/million` | the multipliers |
//! | `queue/you-are-caller-number` | "you are caller number" |
//! | `queue/estimated-wait` | "your estimated wait is" |
//! | `queue/minute`, `queue/minutes` | "minute", "minutes" |
//! | `queue/less-than-a-minute` | "less than a minute" |
//! | `queue/thank-you-for-holding` | "thank you for holding" |
//!
//! The layout follows Asterisk's `digits/` convention, so an operator can drop in a
//! professionally recorded set. Numbers are read the English way without "and":
//! 342 → `digits/3 digits/hundred digits/40 digits/2`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::player::PlayItem;
use crate::wav::PromptAudio;

/// A prompt clip the library lacks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("prompt {0:?} is not loaded")]
pub struct MissingPrompt(pub String);

/// Loaded prompts by name, shared by every player (`Arc`: one copy in memory).
#[derive(Debug, Clone, Default)]
pub struct PromptLibrary {
    prompts: HashMap<String, Arc<PromptAudio>>,
}

impl PromptLibrary {
    /// An empty library.
    pub fn new() -> PromptLibrary {
        PromptLibrary::default()
    }

    /// Adds (or replaces) a prompt.
    pub fn insert(&mut self, name: impl Into<String>, audio: PromptAudio) {
        self.prompts.insert(name.into(), Arc::new(audio));
    }

    /// A prompt by name.
    pub fn get(&self, name: &str) -> Option<Arc<PromptAudio>> {
        self.prompts.get(name).cloned()
    }

    /// Number of prompts.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether the library is empty.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }

    /// The play items for a list of clip names; fails on the first missing clip, so an
    /// announcement is never played with a word missing.
    pub fn resolve<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<PlayItem>, MissingPrompt> {
        names
            .iter()
            .map(|n| {
                self.get(n.as_ref())
                    .map(PlayItem::Audio)
                    .ok_or_else(|| MissingPrompt(n.as_ref().to_owned()))
            })
            .collect()
    }
}

/// Appends the clips that speak `n` (English, no "and").
pub fn number_clips(n: u32, out: &mut Vec<String>) {
    if n >= 1_000_000 {
        number_clips(n / 1_000_000, out);
        out.push("digits/million".to_owned());
        if !n.is_multiple_of(1_000_000) {
            number_clips(n % 1_000_000, out);
        }
    } else if n >= 1000 {
        number_clips(n / 1000, out);
        out.push("digits/thousand".to_owned());
        if !n.is_multiple_of(1000) {
            number_clips(n % 1000, out);
        }
    } else if n >= 100 {
        out.push(format!("digits/{}", n / 100));
        out.push("digits/hundred".to_owned());
        if !n.is_multiple_of(100) {
            number_clips(n % 100, out);
        }
    } else if n >= 20 {
        out.push(format!("digits/{}", n / 10 * 10));
        if !n.is_multiple_of(10) {
            out.push(format!("digits/{}", n % 10));
        }
    } else {
        out.push(format!("digits/{n}"));
    }
}

/// "You are caller number 3."
pub fn position_announcement(position: u32) -> Vec<String> {
    let mut v = vec!["queue/you-are-caller-number".to_owned()];
    number_clips(position, &mut v);
    v
}

/// "Your estimated wait is 4 minutes." Rounded up to whole minutes (a caller told "3" who
/// waits 3½ feels misled; told "4" who waits 3½ does not); under a minute says so.
pub fn wait_announcement(estimated_wait: Duration) -> Vec<String> {
    let mut v = vec!["queue/estimated-wait".to_owned()];
    let secs = estimated_wait.as_secs();
    if secs < 60 {
        v.push("queue/less-than-a-minute".to_owned());
        return v;
    }
    let minutes = u32::try_from(secs.div_ceil(60)).unwrap_or(u32::MAX);
    number_clips(minutes, &mut v);
    v.push(
        if minutes == 1 {
            "queue/minute"
        } else {
            "queue/minutes"
        }
        .to_owned(),
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken(n: u32) -> String {
        let mut v = Vec::new();
        number_clips(n, &mut v);
        v.iter()
            .map(|c| c.trim_start_matches("digits/"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn numbers_are_read_from_clips() {
        assert_eq!(spoken(0), "0");
        assert_eq!(spoken(7), "7");
        assert_eq!(spoken(13), "13");
        assert_eq!(spoken(20), "20");
        assert_eq!(spoken(42), "40 2");
        assert_eq!(spoken(100), "1 hundred");
        assert_eq!(spoken(342), "3 hundred 40 2");
        assert_eq!(spoken(1005), "1 thousand 5");
        assert_eq!(spoken(21_019), "20 1 thousand 19");
        assert_eq!(spoken(3_000_000), "3 million");
        assert_eq!(
            spoken(u32::MAX),
            "4 thousand 2 hundred 90 4 million 9 hundred 60 7 thousand 2 hundred 90 5"
        );
    }

    #[test]
    fn position_announcement_says_caller_number() {
        assert_eq!(
            position_announcement(3),
            ["queue/you-are-caller-number", "digits/3"]
        );
    }

    #[test]
    fn wait_is_rounded_up_to_minutes_with_singular_and_plural() {
        assert_eq!(
            wait_announcement(Duration::from_secs(200)),
            ["queue/estimated-wait", "digits/4", "queue/minutes"]
        );
        assert_eq!(
            wait_announcement(Duration::from_secs(60)),
            ["queue/estimated-wait", "digits/1", "queue/minute"]
        );
        assert_eq!(
            wait_announcement(Duration::from_secs(30)),
            ["queue/estimated-wait", "queue/less-than-a-minute"]
        );
    }

    #[test]
    fn resolving_fails_on_the_first_missing_clip() {
        let mut lib = PromptLibrary::new();
        lib.insert(
            "queue/you-are-caller-number",
            PromptAudio::from_pcm(&[0; 800]),
        );
        lib.insert("digits/3", PromptAudio::from_pcm(&[0; 400]));
        assert_eq!(lib.resolve(&position_announcement(3)).unwrap().len(), 2);
        assert_eq!(
            lib.resolve(&position_announcement(4)).unwrap_err(),
            MissingPrompt("digits/4".into())
        );
    }
}
