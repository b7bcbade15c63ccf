//! Issue 78 point 6: a cron that never fires (`* * 30 2 *`) and a word a field does not
//! take (`MONL`) are refused when the workflow loads, at their line, with what to
//! write, as Vixie cron refuses them; `baton validate` exits 2.
use crate::helpers::*;

#[test]
fn validate_refuses_an_impossible_date_and_a_name_cron_does_not_take() {
    let env = Env::new();
    let cases = [
        (
            "* * 30 2 *",
            "never.toml:4:8: error: `cron` of schedule #1 is not a cron expression: day-of-month `30` is past the end of every month of `2`: it would never fire",
            "hint: name days those months have (February has at most 29",
        ),
        (
            "0 9 * * MONL",
            "never.toml:4:8: error: `cron` of schedule #1 is not a cron expression: the day-of-week field holds `MONL`, which is not a name it takes",
            "hint: write a weekday's three letters (SUN … SAT) or a number 0-7; a month's last Monday is `1L`",
        ),
    ];
    for (cron, error, hint) in cases {
        let wf = env.workflow(
            "never.toml",
            &format!("name = \"n\"\n\n[[schedule]]\ncron = \"{cron}\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n"),
        );
        let out = env.run(&["validate", wf.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cron}: {err}");
        assert!(err.contains(error) && err.contains(hint), "{cron}: {err}");
    }
    // What cron takes still loads: the 29th of February, a last Monday, a range of names.
    for cron in ["0 0 29 2 *", "0 9 * * 1L", "0 9 * JAN-MAR MON-FRI"] {
        let wf = env.workflow(
            "fine.toml",
            &format!("name = \"n\"\n\n[[schedule]]\ncron = \"{cron}\"\n\n[[step]]\nid = \"a\"\nrun = \"true\"\n"),
        );
        let out = env.run(&["validate", wf.to_str().unwrap()]);
        assert!(out.status.success(), "{cron}: {}", text(&out.stderr));
    }
}
