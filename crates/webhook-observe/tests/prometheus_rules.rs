//! Checks `prometheus/alerts.yml` and runs its unit tests (`alerts_test.yml`) with
//! `promtool`, when it is installed (Debian: `apt-get install prometheus`); without
//! it, says so on stderr and checks only that the files are there.

use std::path::Path;
use std::process::Command;

fn promtool(args: &[&str]) -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus");
    let output = match Command::new("promtool")
        .args(args)
        .current_dir(&dir)
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "promtool is not installed: `promtool {}` skipped",
                args.join(" ")
            );
            return None;
        }
        Err(error) => panic!("cannot run promtool: {error}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "promtool {}:\n{text}",
        args.join(" ")
    );
    Some(text)
}

#[test]
fn the_rules_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus");
    assert!(dir.join("alerts.yml").is_file());
    if let Some(text) = promtool(&["check", "rules", "alerts.yml"]) {
        assert!(text.contains("SUCCESS: 8 rules found"), "{text}");
    }
}

#[test]
fn the_rules_pass_their_unit_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus");
    assert!(dir.join("alerts_test.yml").is_file());
    if let Some(text) = promtool(&["test", "rules", "alerts_test.yml"]) {
        assert!(text.contains("SUCCESS"), "{text}");
    }
}
