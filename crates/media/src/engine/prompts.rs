//! Loading the prompt directory into a [`PromptLibrary`].

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::announce::PromptLibrary;
use crate::wav::{PromptAudio, WavError};

/// A prompt file that could not be loaded (the others still are).
#[derive(Debug, Error)]
pub enum PromptLoadError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a WAV we play (8 kHz mono PCM16, µ-law or A-law).
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Why.
        source: WavError,
    },
}

/// Deepest sub-folder followed (`digits/`, `queue/`, `moh/<class>/`…), against symlink loops.
const MAX_DEPTH: usize = 4;

/// Loads every `*.wav` under `dir`, named by its path relative to `dir` without the extension
/// (`digits/5.wav` → `digits/5`). Fails only when `dir` itself cannot be read.
pub fn load_prompts(dir: &Path) -> Result<(PromptLibrary, Vec<PromptLoadError>), std::io::Error> {
    let mut library = PromptLibrary::new();
    let mut failures = Vec::new();
    std::fs::read_dir(dir)?;
    walk(dir, "", 0, &mut library, &mut failures);
    Ok((library, failures))
}

fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    library: &mut PromptLibrary,
    failures: &mut Vec<PromptLoadError>,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if path.is_dir() {
            if depth < MAX_DEPTH {
                walk(
                    &path,
                    &format!("{prefix}{name}/"),
                    depth + 1,
                    library,
                    failures,
                );
            }
            continue;
        }
        let Some(stem) = name.strip_suffix(".wav") else {
            continue;
        };
        match std::fs::read(&path) {
            Ok(bytes) => match PromptAudio::from_wav(&bytes) {
                Ok(audio) => library.insert(format!("{prefix}{stem}"), audio),
                Err(source) => failures.push(PromptLoadError::Format { path, source }),
            },
            Err(source) => failures.push(PromptLoadError::Io { path, source }),
        }
    }
}
