//! `[api]`: tokens (unique names and secrets, known scopes, long enough secrets) and TLS paths.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{Result, Validator, to_usize};
use crate::api::{ApiConfig, ApiScope, ApiTls, ApiTokenConfig};
use crate::error::{ConfigProblem, ItemKind};
use crate::raw::RawApi;

/// Shortest accepted secret: 16 characters keep online guessing hopeless.
const MIN_SECRET: usize = 16;

impl Validator<'_> {
    pub(super) fn api(&self, raw: RawApi) -> Result<ApiConfig> {
        let default = ApiConfig::default();
        let mut names = HashMap::new();
        let mut secrets = HashMap::new();
        let mut tokens = Vec::with_capacity(raw.token.len());
        for token in raw.token {
            let name = self.name("name", &token.name)?;
            self.unique(&mut names, &name, token.name.span(), ItemKind::ApiToken)?;
            let secret = token.secret.get_ref().clone();
            if secret.trim().chars().count() < MIN_SECRET {
                return Err(self.error(
                    token.secret.span(),
                    ConfigProblem::WeakSecret { min: MIN_SECRET },
                ));
            }
            if secrets.insert(secret.clone(), ()).is_some() {
                return Err(self.error(
                    token.secret.span(),
                    ConfigProblem::DuplicateSecret { name: name.clone() },
                ));
            }
            let mut scopes = Vec::new();
            for scope in token.scopes.get_ref() {
                let parsed = ApiScope::from_name(scope.get_ref()).ok_or_else(|| {
                    self.error(
                        scope.span(),
                        ConfigProblem::UnknownScope {
                            value: scope.get_ref().clone(),
                        },
                    )
                })?;
                if !scopes.contains(&parsed) {
                    scopes.push(parsed);
                }
            }
            if scopes.is_empty() {
                return Err(self.error(token.scopes.span(), ConfigProblem::Empty { key: "scopes" }));
            }
            tokens.push(ApiTokenConfig {
                name,
                secret,
                scopes,
            });
        }
        let tls = match raw.tls {
            None => None,
            Some(tls) => Some(ApiTls {
                cert: PathBuf::from(self.non_empty("cert", &tls.cert)?),
                key: PathBuf::from(self.non_empty("key", &tls.key)?),
            }),
        };
        let max_streams = match raw.max_streams.as_ref() {
            None => default.max_streams,
            Some(_) => {
                to_usize(self.count("max_streams", raw.max_streams.as_ref(), 256, 1, 100_000)?)
            }
        };
        let screen_pop_lead = self.millis(
            "screen_pop_lead_ms",
            raw.screen_pop_lead_ms.as_ref(),
            default.screen_pop_lead,
            0,
            1000,
        )?;
        let screen_pop_max_hold = self.millis(
            "screen_pop_max_hold_ms",
            raw.screen_pop_max_hold_ms.as_ref(),
            default.screen_pop_max_hold,
            0,
            5000,
        )?;
        Ok(ApiConfig {
            tokens,
            tls,
            max_streams,
            screen_pop_lead,
            screen_pop_max_hold,
        })
    }
}
