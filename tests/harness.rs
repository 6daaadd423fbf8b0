//! Sim as a test harness: every failure names its seed.
//!
//! What a failure prints on stderr is read from a child process: this test
//! binary run again on one `#[ignore]`d probe, with `STAGGER_PROBE` naming
//! the scenario.

use std::future::pending;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::process::Command;
use std::sync::Barrier;

use futures::StreamExt;
use stagger::prelude::*;
use stagger::schedule;
use stagger::sim::Sim;

/// The seed of the scenarios that fail on one `Sim`.
const SEED: u64 = 4242;

/// The panic message of a caught panic.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// What a child run of a probe printed.
struct Child {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs this test binary on `tests` (ignored probes), with `STAGGER_PROBE`
/// set to `scenario`, `env` set and no other seed variables.
fn child(tests: &[&str], scenario: &str, env: &[(&str, &str)], threads: usize) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.arg("--exact").args(tests).args(["--ignored"]);
    command.args(["--test-threads", &threads.to_string()]);
    if tests.len() == 1 {
        command.arg("--nocapture");
    }
    command
        .env("STAGGER_PROBE", scenario)
        .env_remove("STAGGER_SEED")
        .env_remove("STAGGER_SEEDS")
        .env("RUST_BACKTRACE", "0")
        .envs(env.iter().copied());
    let out = command.output().unwrap();
    Child {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

// ===== every failure names its seed =====

/// Runs one scenario of a Sim run that ends in a panic, catches the panic,
/// prints its payload on stdout (`payload: ...`) and resumes it.
#[test]
#[ignore = "run by the tests below in a child process"]
fn probe() {
    let scenario = std::env::var("STAGGER_PROBE").unwrap_or_default();
    let caught = catch_unwind(AssertUnwindSafe(|| run_scenario(&scenario)));
    if let Err(payload) = caught {
        println!("payload: {}", message(payload.as_ref()));
        resume_unwind(payload);
    }
}

fn run_scenario(scenario: &str) {
    let sim = Sim::seeded(SEED);
    match scenario {
        "block_on" => block_on_fails(&sim),
        "spawned" => spawned_task_fails(&sim),
        "detached" => detached_task_fails(&sim),
        "task_staggered" => fan_out_fails(&sim),
        "schedule_run" => schedule_run_fails(&sim),
        "deadlock" => sim.block_on(pending::<()>()),
        "caught" => caught_inside(&sim),
        other => panic!("no scenario {other:?}"),
    }
}

fn block_on_fails(sim: &Sim) {
    sim.block_on(async {
        sim.sleep(Duration::from_millis(1500)).await;
        let gap = Duration::from_secs(11);
        assert!(gap <= Duration::from_secs(10), "gap {gap:?} too long");
    });
}

fn spawned_task_fails(sim: &Sim) {
    sim.block_on(async {
        let task = sim.spawn({
            let sim = sim.clone();
            async move {
                sim.sleep(Duration::from_secs(2)).await;
                panic!("renewal missed");
            }
        });
        task.await;
    });
}

fn detached_task_fails(sim: &Sim) {
    sim.spawn_detached({
        let sim = sim.clone();
        async move {
            sim.sleep(Duration::from_secs(3)).await;
            panic!("a detached task failed");
        }
    });
    sim.block_on(sim.sleep(Duration::from_secs(10)));
}

fn fan_out_fails(sim: &Sim) {
    sim.block_on(async {
        let mut rng = sim.rng();
        let items = stagger::task_staggered_with(sim, &mut rng, 0..10, Duration::from_secs(5), {
            |i| async move { assert_ne!(i, 3, "item {i} failed") }
        });
        items.for_each(|_| async {}).await;
    });
}

fn schedule_run_fails(sim: &Sim) {
    sim.block_on(async {
        let every = schedule::Rate::every(Duration::from_secs(1)).unwrap();
        let arrivals = schedule::constant(every).take(5);
        let requests = schedule::run(sim, arrivals, |tick| async move {
            assert!(tick.index != 2, "request {} failed", tick.index);
        });
        requests.for_each(|_| async {}).await;
    });
}

fn caught_inside(sim: &Sim) {
    sim.block_on(async {
        let task = sim.spawn(async { panic!("handled by the test") });
        assert!(task.try_join().await.is_err());
    });
    println!("caught: done");
}

/// The seed report a `block_on` prints, with its replay line.
fn report(elapsed: &str) -> String {
    format!(
        "stagger::sim::Sim: the panic above ended a run at virtual time {elapsed}; seed {SEED}; \
         replay: STAGGER_SEED={SEED} cargo test -- --exact probe"
    )
}

/// Checks a scenario's child run: it failed with `payload` unchanged, and
/// stderr holds the user's message, then one report naming the seed.
fn assert_reported(scenario: &str, payload: &str, elapsed: &str) {
    let run = child(&["probe"], scenario, &[], 1);
    assert!(!run.ok, "{scenario} passed: {}", run.stderr);
    assert!(
        run.stdout.contains(&format!("payload: {payload}\n")),
        "{scenario}: {}",
        run.stdout
    );
    let message = run.stderr.find(payload);
    let report = run.stderr.find(&report(elapsed));
    assert!(
        message.is_some() && report.is_some() && message < report,
        "{scenario}: {}",
        run.stderr
    );
    assert_eq!(
        run.stderr.matches("STAGGER_SEED=").count(),
        1,
        "{scenario}: reported once: {}",
        run.stderr
    );
}

#[test]
fn a_failing_assertion_in_block_on_names_the_seed() {
    assert_reported("block_on", "gap 11s too long", "1.5s");
}

#[test]
fn a_spawned_task_panic_names_the_seed() {
    assert_reported("spawned", "renewal missed", "2s");
    assert_reported("detached", "a detached task failed", "3s");
}

#[test]
fn a_fan_out_panic_names_the_seed() {
    let run = child(&["probe"], "task_staggered", &[], 1);
    // The item's delay is drawn: read the time from the report.
    let at = run.stderr.find("at virtual time ").expect(&run.stderr) + 16;
    let elapsed = &run.stderr[at..][..run.stderr[at..].find(';').unwrap()];
    assert_reported(
        "task_staggered",
        "assertion `left != right` failed: item 3 failed",
        elapsed,
    );
    assert_reported("schedule_run", "request 2 failed", "2s");
}

#[test]
fn the_sims_own_panics_are_not_reported_twice() {
    let run = child(&["probe"], "deadlock", &[], 1);
    assert!(!run.ok);
    assert!(run.stderr.contains("deadlock"), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("STAGGER_SEED=").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("the panic above"), "{}", run.stderr);
}

#[test]
fn a_panic_caught_inside_the_run_is_not_reported() {
    let run = child(&["probe"], "caught", &[], 1);
    assert!(run.ok, "{}", run.stderr);
    assert!(run.stdout.contains("caught: done"), "{}", run.stdout);
    assert!(!run.stderr.contains("STAGGER_SEED"), "{}", run.stderr);
}

#[test]
#[should_panic(expected = "gap 11s too long")]
fn the_payload_is_the_users_in_block_on() {
    block_on_fails(&Sim::seeded(SEED));
}

#[test]
#[should_panic(expected = "renewal missed")]
fn the_payload_is_the_users_in_a_spawned_task() {
    spawned_task_fails(&Sim::seeded(SEED));
}

#[test]
#[should_panic(expected = "item 3 failed")]
fn the_payload_is_the_users_in_a_fan_out() {
    fan_out_fails(&Sim::seeded(SEED));
}

/// Waits until both probes are inside their `block_on`, then fails there.
static BOTH: Barrier = Barrier::new(2);

fn fail_together(seed: u64) {
    let sim = Sim::seeded(seed);
    sim.block_on(async {
        sim.sleep(Duration::from_secs(1)).await;
        BOTH.wait();
        panic!("failed together");
    });
}

#[test]
#[ignore = "run by two_failing_tests_at_once_each_name_their_own_seed"]
fn probe_together_111() {
    fail_together(111);
}

#[test]
#[ignore = "run by two_failing_tests_at_once_each_name_their_own_seed"]
fn probe_together_222() {
    fail_together(222);
}

#[test]
fn two_failing_tests_at_once_each_name_their_own_seed() {
    let tests = ["probe_together_111", "probe_together_222"];
    let run = child(&tests, "", &[], 2);
    assert!(!run.ok);
    // libtest prints each failed test's captured output under its name.
    for (test, seed, other) in [(tests[0], 111, 222), (tests[1], 222, 111)] {
        let start = run
            .stdout
            .find(&format!("---- {test} stdout ----"))
            .expect(&run.stdout);
        let section = &run.stdout[start + 5..];
        let section = &section[..section.find("\n---- ").unwrap_or(section.len())];
        assert!(
            section.contains(&format!(
                "seed {seed}; replay: STAGGER_SEED={seed} cargo test -- --exact {test}"
            )),
            "{section}"
        );
        assert!(!section.contains(&format!("seed {other}")), "{section}");
    }
}
