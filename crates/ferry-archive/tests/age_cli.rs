//! Archives and the `age` command line (Debian's `age`, the Go reference implementation,
//! installed by scripts/test.sh): what ferry encrypts, `age -d` decrypts to the plain archive,
//! and what `age -r`/`age -R` encrypts (X25519 and SSH recipients), ferry reads. Passphrase
//! mode is left out: `age -p` reads the passphrase from a terminal only.

#[allow(dead_code, reason = "this binary uses only part of the shared helpers")]
mod support;

use std::path::Path;
use std::process::Command;

use ferry_archive::{Destination, Keys, read_from};
use support::{SECRET_VALUE, assert_round_trip, identity_keys, sample, write};

/// Runs a command that must succeed; returns its standard output.
fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program} (installed by scripts/test.sh): {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("text")
}

/// A new identity made by `age-keygen` at `path`; its recipient.
fn age_keygen(path: &Path) -> String {
    run("age-keygen", &["-o", path.to_str().expect("path")]);
    run("age-keygen", &["-y", path.to_str().expect("path")]).trim().to_owned()
}

/// Writes the sample as a plain archive at `path`.
async fn plain_archive(path: &Path) {
    write(&Destination::File(path.to_path_buf()), None, &sample()).await.expect("write");
}

#[tokio::test]
async fn age_decrypts_what_ferry_encrypts_to_its_recipients() {
    let dir = tempfile::tempdir().expect("temp dir");
    let identity = dir.path().join("age-identity.txt");
    let recipient = age_keygen(&identity);
    let mut keys = Keys::new();
    keys.add_recipient(&recipient).expect("age-keygen's recipient");
    let sealed = dir.path().join("sealed.tar.zst");
    write(&Destination::File(sealed.clone()), Some(&keys), &sample()).await.expect("write");
    assert!(!std::fs::read(&sealed).expect("archive").windows(SECRET_VALUE.len()).any(|w| w == SECRET_VALUE.as_bytes()));

    let opened = dir.path().join("opened.tar.zst");
    run("age", &["-d", "-i", identity.to_str().expect("path"), "-o", opened.to_str().expect("path"), sealed.to_str().expect("path")]);
    let plain = std::fs::read(&opened).expect("decrypted archive");
    let (_, entries) = read_from("opened", plain.as_slice(), None).expect("age's output is the plain archive");
    assert_eq!(entries.len(), sample().len());
}

#[tokio::test]
async fn ferry_reads_what_age_encrypts_to_x25519_and_ssh_recipients() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("plain.tar.zst");
    plain_archive(&plain).await;

    let identity = dir.path().join("age-identity.txt");
    let recipient = age_keygen(&identity);
    let sealed = dir.path().join("by-age.tar.zst");
    run("age", &["-r", &recipient, "-o", sealed.to_str().expect("path"), plain.to_str().expect("path")]);
    assert_round_trip(&Destination::File(sealed.clone()), Some(&identity_keys(&identity)), &sample()).await;

    let ssh_key = dir.path().join("id_ed25519");
    run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", "ferry-test", "-f", ssh_key.to_str().expect("path")]);
    let by_ssh = dir.path().join("by-age-ssh.tar.zst");
    let public = format!("{}.pub", ssh_key.display());
    run("age", &["-R", &public, "-o", by_ssh.to_str().expect("path"), plain.to_str().expect("path")]);
    assert_round_trip(&Destination::File(by_ssh), Some(&identity_keys(&ssh_key)), &sample()).await;

    // And the other way: ferry encrypts to the SSH public key, age decrypts with the private one.
    let mut keys = Keys::new();
    keys.add_recipients_file(Path::new(&public)).expect("an SSH public key file is a recipients file");
    let sealed = dir.path().join("to-ssh.tar.zst");
    write(&Destination::File(sealed.clone()), Some(&keys), &sample()).await.expect("write");
    let opened = dir.path().join("from-ssh.tar.zst");
    run("age", &["-d", "-i", ssh_key.to_str().expect("path"), "-o", opened.to_str().expect("path"), sealed.to_str().expect("path")]);
    assert_eq!(read_from("opened", std::fs::read(&opened).expect("decrypted").as_slice(), None).expect("plain").1.len(), sample().len());
}
