//! `weinong keys …`, `sign`, `verify`, `sm3`, `pseudonym`: key management from the shell.
//!
//! Formats match OpenSSL 3 so that a department can check anything here with `openssl`:
//! public keys as SubjectPublicKeyInfo PEM, private keys as PKCS#8 PEM, signatures as DER.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use weinong_keys::{
    KeyPair, Pepper, PublicKey, ResidentId, Signature, SubjectPseudonym, Zeroizing,
    keystore_public_key, open_keystore, seal_keystore,
};

use crate::Outcome;

/// Environment variable holding the keystore password (else the terminal prompts).
pub const PASSWORD_ENV: &str = "WEINONG_KEY_PASSWORD";
/// The largest message file `sign`/`verify`/`sm3` read into memory at once.
const MESSAGE_BYTES_MAX: u64 = 1 << 30;

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Create a new SM2 key pair in an encrypted keystore file.
    New {
        /// Keystore file to create (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a keystore's key id and public key PEM (no password needed).
    Show { file: PathBuf },
    /// Write the public key as SubjectPublicKeyInfo PEM.
    ExportPublic {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the private key as unencrypted PKCS#8 PEM (for OpenSSL); handle with care.
    ExportPrivate {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Read a PKCS#8 PEM private key (e.g. from `openssl genpkey -algorithm SM2`) into a keystore.
    ImportPrivate {
        pem: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct SignArgs {
    /// Keystore file.
    #[arg(long)]
    key: PathBuf,
    /// Message file.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where to write the DER signature.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// Public key PEM (SubjectPublicKeyInfo), or a keystore file.
    #[arg(long = "pub")]
    public: PathBuf,
    /// Message file.
    #[arg(long = "in")]
    input: PathBuf,
    /// DER signature file.
    #[arg(long)]
    sig: PathBuf,
}

#[derive(Args)]
pub struct Sm3Args {
    /// Files to hash; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Args)]
pub struct PseudonymArgs {
    /// File holding the consortium pepper as 64 hex characters.
    #[arg(long)]
    pepper_file: PathBuf,
    /// The 18-character resident ID number.
    id: String,
}

pub fn keys(cmd: KeysCmd) -> Result<Outcome> {
    match cmd {
        KeysCmd::New { out } => {
            refuse_overwrite(&out)?;
            let key = KeyPair::generate();
            let password = new_password()?;
            write_keystore(&out, &key, &password)?;
            println!("key id: {}", key.key_id());
            println!("keystore: {}", out.display());
        }
        KeysCmd::Show { file } => {
            let public = read_keystore_public(&file)?;
            println!("key id: {}", public.key_id());
            print!("{}", public.to_spki_pem()?);
        }
        KeysCmd::ExportPublic { file, out } => {
            let public = read_keystore_public(&file)?;
            fs::write(&out, public.to_spki_pem()?)
                .with_context(|| format!("cannot write {}", out.display()))?;
        }
        KeysCmd::ExportPrivate { file, out } => {
            refuse_overwrite(&out)?;
            let key = open_keystore_file(&file)?;
            write_private(&out, key.to_pkcs8_pem()?.as_bytes())?;
        }
        KeysCmd::ImportPrivate { pem, out } => {
            refuse_overwrite(&out)?;
            let text = read_text(&pem, "private key PEM")?;
            let key =
                KeyPair::from_pkcs8_pem(&text).with_context(|| format!("{}", pem.display()))?;
            let password = new_password()?;
            write_keystore(&out, &key, &password)?;
            println!("key id: {}", key.key_id());
        }
    }
    Ok(Outcome::Ok)
}

pub fn sign(args: SignArgs) -> Result<Outcome> {
    let key = open_keystore_file(&args.key)?;
    let msg = read_bytes(&args.input, "message")?;
    fs::write(&args.out, key.sign(&msg).to_der())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    Ok(Outcome::Ok)
}

pub fn verify(args: VerifyArgs) -> Result<Outcome> {
    let public = read_public(&args.public)?;
    let msg = read_bytes(&args.input, "message")?;
    let der = read_bytes(&args.sig, "signature")?;
    let sig = Signature::from_der(&der).with_context(|| format!("{}", args.sig.display()))?;
    match public.verify(&msg, &sig) {
        Ok(()) => {
            println!("signature valid (key id {})", public.key_id());
            Ok(Outcome::Ok)
        }
        Err(_) => {
            println!("signature INVALID for key id {}", public.key_id());
            Ok(Outcome::CheckFailed)
        }
    }
}

pub fn sm3(args: Sm3Args) -> Result<Outcome> {
    for file in &args.files {
        let digest = if file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            weinong_keys::sm3_digest(&buf)
        } else {
            sm3_file(file)?
        };
        println!("{}  {}", hex::encode(digest), file.display());
    }
    Ok(Outcome::Ok)
}

fn sm3_file(path: &Path) -> Result<[u8; 32]> {
    use weinong_keys::{Digest, Sm3};
    let mut f = fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sm3::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

pub fn pseudonym(args: PseudonymArgs) -> Result<Outcome> {
    let text = Zeroizing::new(read_text(&args.pepper_file, "pepper file")?);
    let pepper =
        Pepper::from_hex(&text).with_context(|| format!("{}", args.pepper_file.display()))?;
    let id = ResidentId::parse(&args.id).context("invalid resident ID number")?;
    println!("{}", SubjectPseudonym::derive(&pepper, &id));
    Ok(Outcome::Ok)
}

/// Open a keystore, asking for its password.
pub fn open_keystore_file(path: &Path) -> Result<KeyPair> {
    let text = read_text(path, "keystore")?;
    let password = password("Keystore password: ")?;
    open_keystore(&text, password.as_bytes()).with_context(|| format!("{}", path.display()))
}

fn read_keystore_public(path: &Path) -> Result<PublicKey> {
    let text = read_text(path, "keystore")?;
    keystore_public_key(&text).with_context(|| format!("{}", path.display()))
}

/// A public key from a SubjectPublicKeyInfo PEM or DER file, or from a keystore.
pub fn read_public(path: &Path) -> Result<PublicKey> {
    let bytes = read_bytes(path, "public key")?;
    if bytes.is_empty() {
        bail!("{}: public key file is empty", path.display());
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.trim_start().starts_with('{') => {
            keystore_public_key(text).with_context(|| format!("{}", path.display()))
        }
        Ok(text) if text.contains("-----BEGIN") => {
            if text.contains("BEGIN RSA")
                || text.contains("BEGIN PRIVATE")
                || text.contains("BEGIN EC PRIVATE")
            {
                bail!(
                    "{}: expected an SM2 public key (BEGIN PUBLIC KEY), found another PEM type",
                    path.display()
                );
            }
            PublicKey::from_spki_pem(text).with_context(|| format!("{}", path.display()))
        }
        _ => PublicKey::from_spki_der(&bytes).with_context(|| format!("{}", path.display())),
    }
}

fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>> {
    let meta =
        fs::metadata(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    if meta.len() > MESSAGE_BYTES_MAX {
        bail!(
            "{what} {} is larger than {} bytes",
            path.display(),
            MESSAGE_BYTES_MAX
        );
    }
    fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    let bytes = read_bytes(path, what)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!("{what} {} is empty", path.display());
    }
    String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{what} {} is not UTF-8 text", path.display()))
}

fn refuse_overwrite(path: &Path) -> Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key file",
            path.display()
        );
    }
    Ok(())
}

fn password(prompt: &str) -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Zeroizing::new(p));
    }
    let p = rpassword::prompt_password(prompt)
        .with_context(|| format!("no terminal to ask for the password: set {PASSWORD_ENV}"))?;
    Ok(Zeroizing::new(p))
}

/// The password of an existing keystore or secrets file: the first line of
/// `password_file` (owner-only, see [`weinong_keys::read_password_file`]), else
/// `WEINONG_KEY_PASSWORD`, else asked on the terminal.
pub(crate) fn existing_password(password_file: Option<&Path>) -> Result<Zeroizing<String>> {
    match password_file {
        Some(p) => Ok(weinong_keys::read_password_file(p)?),
        None => password("Password: "),
    }
}

/// A password to seal a new file under: from `password_file` or `WEINONG_KEY_PASSWORD`
/// (non-empty), else asked twice on the terminal.
pub(crate) fn sealing_password(password_file: Option<&Path>) -> Result<Zeroizing<String>> {
    match password_file {
        Some(p) => Ok(weinong_keys::read_password_file(p)?),
        None => new_password(),
    }
}

fn new_password() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        if p.is_empty() {
            bail!("{PASSWORD_ENV} is empty; a keystore needs a password");
        }
        return Ok(Zeroizing::new(p));
    }
    let a = password("New keystore password: ")?;
    let b = password("Repeat password: ")?;
    if *a != *b {
        bail!("passwords differ");
    }
    if a.is_empty() {
        bail!("a keystore needs a non-empty password");
    }
    Ok(a)
}

fn write_keystore(path: &Path, key: &KeyPair, password: &str) -> Result<()> {
    let text = seal_keystore(key, password.as_bytes())?;
    write_private(path, text.as_bytes())
}

/// Write a file readable by its owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}
