//! Files only the server's own user may read: the data directory (0700), the SQLite database,
//! the issuer token and the keys (0600). They are created so, and refused on load when
//! another user could read them: a key another account on the host could copy is a key
//! anyone may hold.
//!
//! ```no_run
//! # fn run() -> anyhow::Result<()> {
//! let dir = std::path::Path::new("data");
//! zizhi_server::private_files::create_private_dir(dir)?;
//! zizhi_server::private_files::write_private(&dir.join("issuer-token"), b"...")?;
//! zizhi_server::private_files::ensure_private(&dir.join("issuer-token"))?;
//! # Ok(()) }
//! ```

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Group and other bits: none may be set on a private file or directory.
const OTHERS: u32 = 0o077;

/// A private file or directory that others could read.
#[derive(Debug, thiserror::Error)]
#[error(
    "{path} 的权限为 {mode:04o}，同组或其他用户可以访问；请运行 `chmod {want:o} {path}` 后重启 \
     ({path} has mode {mode:04o}: readable by group or others; run `chmod {want:o} {path}` and start again)"
)]
pub struct NotPrivate {
    pub path: String,
    pub mode: u32,
    /// 0600 for a file, 0700 for a directory.
    pub want: u32,
}

/// Refuses `path` (a file or a directory) when its group or others have any access; a path
/// that does not exist is fine (it will be created private). The error, in Chinese and
/// English, names the path and the `chmod` to run.
pub fn ensure_private(path: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & OTHERS != 0 {
        return Err(NotPrivate {
            path: path.display().to_string(),
            mode,
            want: if meta.is_dir() { 0o700 } else { 0o600 },
        }
        .into());
    }
    Ok(())
}

/// Creates `dir` (and missing parents) with mode 0700, or checks an existing one with
/// [`ensure_private`].
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return ensure_private(dir);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))
}

/// Writes `bytes` to a new or truncated file of mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    // `mode` applies to a file it creates only: an existing one is narrowed too.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    Ok(())
}

/// Narrows an existing file to 0600 (a file another library created, such as SQLite's).
pub fn make_private(path: &Path) -> anyhow::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| anyhow::anyhow!("cannot chmod {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_directories_are_created_private_and_refused_once_others_may_read_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data/nested");
        create_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let token = dir.join("issuer-token");
        write_private(&token, b"secret").unwrap();
        assert_eq!(mode(&token), 0o600);
        ensure_private(&token).unwrap();
        ensure_private(&dir.join("absent")).unwrap();

        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ensure_private(&token).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(err.contains(&token.display().to_string()), "{err}");
        assert!(err.contains("同组或其他用户"), "{err}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        let err = create_private_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("chmod 700"), "{err}");
    }
}
