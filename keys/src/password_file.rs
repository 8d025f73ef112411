//! Password files: the one reader of a file holding a keystore or secrets password (a
//! node's `password_file`, the CLIs' `--password-file`).
//!
//! The password is the first line of the file (a trailing `\r` dropped). A file that its
//! group or other users may read or write is refused with a message naming the file and
//! the `chmod 600` that fixes it; the bytes read live only in buffers that are zeroized when
//! dropped, and so does the returned password.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use zeroize::{Zeroize, Zeroizing};

use crate::KeyError;

/// The largest password file read.
pub const PASSWORD_FILE_BYTES_MAX: u64 = 4096;

fn refuse(path: &Path, reason: impl Into<String>) -> KeyError {
    KeyError::PasswordFile {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Reads the password on the first line of `path`, refusing a file that its group or
/// others can access (Unix), an empty password, or a file over
/// [`PASSWORD_FILE_BYTES_MAX`].
pub fn read_password_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let file = File::open(path).map_err(|e| refuse(path, format!("cannot open: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| refuse(path, format!("cannot stat: {e}")))?;
    if !meta.is_file() {
        return Err(refuse(path, "not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(refuse(
                path,
                format!(
                    "group or others can access it (mode {mode:04o}); a password file must be \
                     its owner's alone: run `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
    }
    if meta.len() > PASSWORD_FILE_BYTES_MAX {
        return Err(refuse(
            path,
            format!("larger than {PASSWORD_FILE_BYTES_MAX} bytes: is it a password file?"),
        ));
    }
    // Room for the whole file up front, so reading never reallocates (and never leaves an
    // unzeroized copy behind).
    let capacity = usize::try_from(PASSWORD_FILE_BYTES_MAX).unwrap_or(4096) + 1;
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(PASSWORD_FILE_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refuse(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > PASSWORD_FILE_BYTES_MAX {
        return Err(refuse(
            path,
            format!("larger than {PASSWORD_FILE_BYTES_MAX} bytes: is it a password file?"),
        ));
    }
    let mut password = match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Zeroizing::new(text),
        Err(e) => {
            e.into_bytes().zeroize();
            return Err(refuse(path, "not UTF-8 text"));
        }
    };
    // `truncate` keeps the capacity, which `Zeroizing` wipes whole on drop.
    if let Some(end) = password.find('\n') {
        password.truncate(end);
    }
    if password.ends_with('\r') {
        password.pop();
    }
    if password.is_empty() {
        return Err(refuse(
            path,
            "the first line is empty: put the password on it",
        ));
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn owner_only_files_are_read_and_others_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let ok = write(dir.path(), "ok", b"s3cret pass\r\nsecond line\n", 0o600);
        assert_eq!(read_password_file(&ok).unwrap().as_str(), "s3cret pass");
        let ro = write(dir.path(), "ro", b"pw", 0o400);
        assert_eq!(read_password_file(&ro).unwrap().as_str(), "pw");
        for mode in [0o644, 0o640, 0o604, 0o620, 0o660, 0o666, 0o610] {
            let path = write(dir.path(), &format!("m{mode:o}"), b"pw\n", mode);
            let e = read_password_file(&path).unwrap_err().to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains(&format!("chmod 600 {}", path.display())), "{e}");
            assert!(e.contains(&format!("{mode:04o}")), "{e}");
        }
    }

    #[test]
    fn empty_binary_large_and_missing_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = write(dir.path(), "empty", b"\nsecond\n", 0o600);
        assert!(
            read_password_file(&empty)
                .unwrap_err()
                .to_string()
                .contains("first line is empty")
        );
        let binary = write(dir.path(), "bin", &[0xff, 0xfe, 0], 0o600);
        assert!(
            read_password_file(&binary)
                .unwrap_err()
                .to_string()
                .contains("UTF-8")
        );
        let large = write(dir.path(), "large", &[b'a'; 5000], 0o600);
        assert!(
            read_password_file(&large)
                .unwrap_err()
                .to_string()
                .contains("larger than")
        );
        let missing = dir.path().join("missing");
        assert!(
            read_password_file(&missing)
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
        assert!(read_password_file(dir.path()).is_err());
    }
}
