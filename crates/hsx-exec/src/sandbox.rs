//! FS-root path rules shared by EXEC SPAWN and the FS module (`syscalls.md` §6.2).

use std::path::{Path, PathBuf};

/// Why a guest path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Malformed path (§6.2 rules 1-3): −22.
    Invalid,
    /// A component is a symbolic link: −13.
    Link,
    /// A non-final component is not a directory: −20.
    NotDir,
    /// A component does not exist: −2.
    Missing,
}

/// Validate a guest path and split it into components (rules 1-3). `allow_root`
/// accepts `/` and `.` (LISTDIR only).
pub fn components(path: &[u8], allow_root: bool) -> Result<Vec<String>, PathError> {
    if path.is_empty() || path.len() > 255 {
        return Err(PathError::Invalid);
    }
    if path
        .iter()
        .any(|&b| !(0x20..=0x7E).contains(&b) || b == b'\\' || b == b':')
    {
        return Err(PathError::Invalid);
    }
    let text = std::str::from_utf8(path).map_err(|_| PathError::Invalid)?;
    let rel = text.strip_prefix('/').unwrap_or(text);
    if rel.is_empty() || rel == "." {
        return if allow_root {
            Ok(Vec::new())
        } else {
            Err(PathError::Invalid)
        };
    }
    rel.split('/')
        .map(|c| match c {
            "" | "." | ".." => Err(PathError::Invalid),
            c => Ok(c.to_string()),
        })
        .collect()
}

/// Resolve components under `root` without following links: every existing component
/// is checked with `symlink_metadata` (rule 4). Returns the host path; the last
/// component may be missing when `must_exist` is false.
pub fn resolve(root: &Path, parts: &[String], must_exist: bool) -> Result<PathBuf, PathError> {
    let mut path = root.to_path_buf();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(PathError::Link),
            Ok(meta) if !last && !meta.is_dir() => return Err(PathError::NotDir),
            Ok(_) => {}
            Err(_) if last && !must_exist => {}
            Err(_) => return Err(PathError::Missing),
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_paths_are_refused() {
        for bad in [
            &b""[..],
            b"a//b",
            b"a/",
            b"../x",
            b"a/./b",
            b"a\\b",
            b"c:x",
            b"a\x01",
            b"/",
        ] {
            assert_eq!(components(bad, false), Err(PathError::Invalid), "{bad:?}");
        }
        assert_eq!(components(b"/", true), Ok(vec![]));
        assert_eq!(
            components(b"/apps/x.hxe", false),
            Ok(vec!["apps".into(), "x.hxe".into()])
        );
        assert_eq!(components(&[b'a'; 256], false), Err(PathError::Invalid));
    }

    #[test]
    fn links_and_missing_components_are_refused() {
        let dir = std::env::temp_dir().join(format!("hsx-sandbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::write(dir.join("f"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc", dir.join("l")).unwrap();
        assert!(resolve(&dir, &["d".into()], true).is_ok());
        assert_eq!(
            resolve(&dir, &["f".into(), "x".into()], true),
            Err(PathError::NotDir)
        );
        assert_eq!(
            resolve(&dir, &["nope".into()], true),
            Err(PathError::Missing)
        );
        #[cfg(unix)]
        assert_eq!(
            resolve(&dir, &["l".into(), "passwd".into()], true),
            Err(PathError::Link)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
