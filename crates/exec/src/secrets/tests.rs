use super::*;

#[test]
fn one_trailing_newline_goes_and_first_line_takes_the_password() {
    assert_eq!(value_of(b"s3cret\n".to_vec(), false).unwrap(), "s3cret");
    assert_eq!(value_of(b"s3cret\r\n".to_vec(), false).unwrap(), "s3cret");
    assert_eq!(value_of(b"s3cret".to_vec(), false).unwrap(), "s3cret");
    // A key file keeps its lines, less the last newline.
    assert_eq!(value_of(b"a\nb\n\n".to_vec(), false).unwrap(), "a\nb\n");
    assert_eq!(
        value_of(b"pw\nlogin: me\nurl: x\n".to_vec(), true).unwrap(),
        "pw"
    );
    assert!(matches!(
        value_of(b"\n".to_vec(), false),
        Err(Problem::Empty)
    ));
    assert!(matches!(
        value_of(b"\nrest".to_vec(), true),
        Err(Problem::Empty)
    ));
    assert!(matches!(
        value_of(vec![0xff, 0xfe], false),
        Err(Problem::NotText)
    ));
    assert!(matches!(
        value_of(b"a\0b".to_vec(), false),
        Err(Problem::NotText)
    ));
    assert!(matches!(
        value_of(vec![b'x'; MAX_SECRET_BYTES + 1], false),
        Err(Problem::TooBig)
    ));
}

fn command(argv: &[&str], timeout: Duration) -> Secret {
    Secret {
        name: "DB".into(),
        source: SecretSource::Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            timeout,
            first_line: false,
        },
    }
}

#[tokio::test]
async fn a_command_is_an_argument_vector_with_a_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let long = Duration::from_secs(10);
    // No shell: `;` and `$HOME` are one argument each.
    let got = read_all(&[command(&["echo", "a;b", "$HOME"], long)], dir.path())
        .await
        .unwrap();
    assert_eq!(got, [("DB".to_string(), "a;b $HOME".to_string())]);
    let e = read_all(
        &[command(
            &["sh", "-c", "echo half; echo gpg: no key >&2; exit 2"],
            long,
        )],
        dir.path(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("secret `DB` (from command `sh -c"), "{e}");
    assert!(e.contains("exited with status 2: gpg: no key"), "{e}");
    let started = std::time::Instant::now();
    let e = read_all(
        &[command(&["sleep", "30"], Duration::from_millis(300))],
        dir.path(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("did not finish within 300ms"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let e = read_all(&[command(&["no-such-program-x"], long)], dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot start `no-such-program-x`"), "{e}");
}

#[tokio::test]
async fn a_missing_file_is_named_and_a_fifo_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Secret {
        name: "DB".into(),
        source: SecretSource::File(dir.path().join("db")),
    };
    let e = read_all(&[missing], dir.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("secret `DB` (from file "), "{e}");
    assert!(e.contains("No such file"), "{e}");
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let e = read_all(
        &[Secret {
            name: "DB".into(),
            source: SecretSource::File(fifo),
        }],
        dir.path(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("is not a regular file"), "{e}");
}
