//! Sim as a test harness: every failure names its seed, and `check` sweeps
//! seeds and replays the one that fails.
//!
//! What a failure prints on stderr is read from a child process: this test
//! binary run again on one `#[ignore]`d probe, with `STAGGER_PROBE` naming
//! the scenario.

use std::future::pending;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::process::Command;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use stagger::prelude::*;
use stagger::schedule;
use stagger::sim::{Check, Sim};

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

/// Whether the environment picks the seeds: the in-process tests of
/// `check`'s defaults then have nothing to check.
fn seeds_from_env() -> bool {
    std::env::var_os("STAGGER_SEED").is_some() || std::env::var_os("STAGGER_SEEDS").is_some()
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
    let mut command = child_command(tests, scenario, threads);
    command.envs(env.iter().copied());
    run_child(command)
}

/// The command [`child`] runs, before the environment of the test's own.
fn child_command(tests: &[&str], scenario: &str, threads: usize) -> Command {
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
        .env("RUST_BACKTRACE", "0");
    command
}

fn run_child(mut command: Command) -> Child {
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
        "check_one_percent" => stagger::sim::check(one_percent),
        "check_hangs" => Check::new().seeds(10).run(hangs_on_seed_5),
        "check_counts" => {
            let runs = AtomicU64::new(0);
            stagger::sim::check(|sim: Sim| {
                runs.fetch_add(1, Ordering::Relaxed);
                println!("ran seed {}", sim.seed());
                async {}
            });
            println!("runs: {}", runs.load(Ordering::Relaxed));
        }
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

// ===== the runner =====

/// A lease is renewed after a random delay of up to 10 s and must be renewed
/// within 9.9 s: the property fails for about 1 % of the draws. The renewal
/// runs in a task of its own.
async fn one_percent(sim: Sim) {
    let renewal = sim.spawn({
        let sim = sim.clone();
        async move {
            let mut rng = sim.rng();
            stagger::wait_random_with(&sim, &mut rng, Duration::from_secs(10)).await
        }
    });
    let delay = renewal.await;
    assert!(
        delay <= Duration::from_millis(9900),
        "renewed after {delay:?}: the lease lapsed"
    );
}

/// The seeds among `0..256` on which [`one_percent`] fails, and its delay.
fn one_percent_failures() -> Vec<(u64, Duration)> {
    (0..256)
        .filter_map(|seed| {
            let sim = Sim::seeded(seed);
            let mut rng = sim.rng();
            let delay = sim.block_on(stagger::wait_random_with(
                &sim,
                &mut rng,
                Duration::from_secs(10),
            ));
            (delay > Duration::from_millis(9900)).then_some((seed, delay))
        })
        .collect()
}

#[test]
fn check_finds_a_one_percent_failure_and_replays_it() {
    let failures = one_percent_failures();
    // Rare, but there: about 1 % of the 256 seeds.
    assert!((1..=8).contains(&failures.len()), "{failures:?}");
    let (seed, delay) = failures[0];
    let run = child(&["probe"], "check_one_percent", &[], 1);
    assert!(!run.ok);
    let expected = format!(
        "stagger::sim::check: seed {seed} failed, the {} of 256 seeds (0 to 255), at virtual \
         time {delay:?}; seed {seed}; replay: STAGGER_SEED={seed} cargo test -- --exact probe",
        ordinal(seed + 1)
    );
    assert!(run.stderr.contains(&expected), "{expected}\n{}", run.stderr);
    // The user's message, and only the runner's report: not the block_on's too.
    assert!(run.stdout.contains(&format!(
        "payload: renewed after {delay:?}: the lease lapsed"
    )));
    assert_eq!(
        run.stderr.matches("STAGGER_SEED=").count(),
        1,
        "{}",
        run.stderr
    );
    // The replay line replays it: that seed alone fails the same way.
    let replay = child(
        &["probe"],
        "check_one_percent",
        &[("STAGGER_SEED", &seed.to_string())],
        1,
    );
    assert!(!replay.ok);
    assert!(
        replay.stderr.contains(&format!(
            "seed {seed} failed, the only seed run, at virtual time {delay:?}"
        )),
        "{}",
        replay.stderr
    );
    // ... and a seed that passes, passes alone.
    let passing = (0..).find(|s| failures.iter().all(|f| f.0 != *s)).unwrap();
    let alone = child(
        &["probe"],
        "check_one_percent",
        &[("STAGGER_SEED", &passing.to_string())],
        1,
    );
    assert!(alone.ok, "{}", alone.stderr);
}

fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[test]
fn check_payload_is_the_bodys() {
    if seeds_from_env() {
        return;
    }
    let caught = catch_unwind(|| stagger::sim::check(one_percent)).unwrap_err();
    let message = message(caught.as_ref());
    assert!(message.starts_with("renewed after 9.9"), "{message}");
    assert!(message.ends_with("the lease lapsed"), "{message}");
}

#[test]
fn check_fails_a_seed_whose_body_returns_err() {
    if seeds_from_env() {
        return;
    }
    let runs = AtomicU64::new(0);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        Check::new().seeds(10).first(100).run(|sim: Sim| {
            runs.fetch_add(1, Ordering::Relaxed);
            async move {
                sim.sleep(Duration::from_secs(sim.seed())).await;
                match sim.seed() {
                    103 => Err(format!("seed {} is bad", sim.seed())),
                    _ => Ok(()),
                }
            }
        });
    }))
    .unwrap_err();
    let message = message(caught.as_ref());
    assert!(
        message.starts_with(
            "the body returned Err(\"seed 103 is bad\")\nstagger::sim::check: seed 103 failed, \
             the 4th of 10 seeds (100 to 109), at virtual time 103s; seed 103; replay: \
             STAGGER_SEED=103"
        ),
        "{message}"
    );
    // Stopped at the first failure.
    assert_eq!(runs.load(Ordering::Relaxed), 4);
    // Bodies that return Ok pass.
    Check::new()
        .seeds(5)
        .run(|_sim: Sim| async { Ok::<(), std::io::Error>(()) });
}

/// Waits forever on seed 5.
async fn hangs_on_seed_5(sim: Sim) {
    sim.sleep(Duration::from_secs(1)).await;
    if sim.seed() == 5 {
        pending::<()>().await;
    }
}

#[test]
fn check_names_the_seed_a_body_hangs_on() {
    let run = child(&["probe"], "check_hangs", &[], 1);
    assert!(!run.ok);
    assert!(
        run.stderr.contains(
            "stagger::sim::check: seed 5 failed, the 6th of 10 seeds (0 to 9), at virtual time 1s; \
             seed 5; replay: STAGGER_SEED=5"
        ),
        "{}",
        run.stderr
    );
    // The payload is the Sim's deadlock panic, which names the seed too.
    assert!(
        run.stdout.contains("payload: stagger::sim::Sim deadlock"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_reads_the_seeds_from_the_environment() {
    let ran = |env: &[(&str, &str)]| {
        let run = child(&["probe"], "check_counts", env, 1);
        assert!(run.ok, "{env:?}: {}", run.stderr);
        let seeds: Vec<String> = (run.stdout.lines())
            .filter_map(|l| l.find("ran seed ").map(|at| l[at + 9..].to_owned()))
            .collect();
        seeds
    };
    let default = ran(&[]);
    assert_eq!(default.len(), 256);
    assert_eq!(
        (default.first().unwrap(), default.last().unwrap()),
        (&"0".into(), &"255".into())
    );
    assert_eq!(ran(&[("STAGGER_SEEDS", "3")]), ["0", "1", "2"]);
    assert_eq!(ran(&[("STAGGER_SEED", "0x2a")]), ["42"]);
    // STAGGER_SEED replays one seed, whatever the count.
    assert_eq!(
        ran(&[("STAGGER_SEED", "7"), ("STAGGER_SEEDS", "1000")]),
        ["7"]
    );
}

#[test]
fn check_rejects_bad_environment_values_naming_the_variable() {
    let cases = [
        (
            "STAGGER_SEEDS",
            "0",
            "STAGGER_SEEDS=\"0\" runs no seeds: give a whole number from 1 to 4294967296",
        ),
        (
            "STAGGER_SEEDS",
            "ten",
            "STAGGER_SEEDS=\"ten\" is not a count of seeds",
        ),
        (
            "STAGGER_SEEDS",
            "",
            "STAGGER_SEEDS=\"\" is not a count of seeds",
        ),
        (
            "STAGGER_SEEDS",
            "-3",
            "STAGGER_SEEDS=\"-3\" is not a count of seeds",
        ),
        (
            "STAGGER_SEEDS",
            "5000000000",
            "STAGGER_SEEDS=\"5000000000\" is too many seeds",
        ),
        (
            "STAGGER_SEEDS",
            "1000000000000000000000",
            "is too many seeds",
        ),
        (
            "STAGGER_SEED",
            "seven",
            "STAGGER_SEED=\"seven\" is not a seed",
        ),
    ];
    for (var, value, expected) in cases {
        let run = child(&["probe"], "check_counts", &[(var, value)], 1);
        assert!(!run.ok, "{var}={value}");
        assert!(!run.stdout.contains("ran seed"), "{var}={value}: ran");
        assert!(
            run.stderr.contains(expected),
            "{var}={value}: {}",
            run.stderr
        );
    }
    // Not Unicode: set and malformed, never taken for unset (which ran the
    // default sweep silently).
    #[cfg(unix)]
    for var in ["STAGGER_SEEDS", "STAGGER_SEED"] {
        use std::os::unix::ffi::OsStrExt;
        let mut command = child_command(&["probe"], "check_counts", 1);
        command.env(var, std::ffi::OsStr::from_bytes(b"12\xff"));
        let run = run_child(command);
        assert!(!run.ok, "{var}");
        assert!(!run.stdout.contains("ran seed"), "{var}: ran");
        assert!(
            run.stderr.contains(&format!("{var}=\"12\\xFF\"")),
            "{var}: {}",
            run.stderr
        );
    }
}

#[test]
fn check_seeds_in_code_must_be_a_count() {
    for count in [0, stagger::sim::MAX_SEEDS + 1] {
        let caught = catch_unwind(|| Check::new().seeds(count)).unwrap_err();
        assert!(message(caught.as_ref()).contains("give a count from 1 to 4294967296"));
    }
}

#[test]
fn check_can_compare_each_seeds_two_runs() {
    if seeds_from_env() {
        return;
    }
    // Deterministic bodies pass, and each seed runs twice.
    let runs = AtomicU64::new(0);
    Check::new().seeds(20).deterministic(true).run(|sim: Sim| {
        runs.fetch_add(1, Ordering::Relaxed);
        async move {
            let mut rng = sim.rng();
            stagger::task_wait_n_with(&sim, &mut rng, 5, Duration::from_secs(3)).await;
        }
    });
    assert_eq!(runs.load(Ordering::Relaxed), 40);
    // A body that draws from something no seed fixes does not.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let caught = catch_unwind(|| {
        Check::new().deterministic(true).run(|sim: Sim| async move {
            let secs = CALLS.fetch_add(1, Ordering::Relaxed);
            sim.spawn(sim.sleep(Duration::from_secs(secs))).await;
        });
    })
    .unwrap_err();
    let message = message(caught.as_ref());
    assert!(
        message.starts_with("not deterministic: the runs differ at event 1 "),
        "{message}"
    );
    assert!(
        message.contains("\nstagger::sim::check: seed 0 failed, the 1st of 256 seeds (0 to 255)"),
        "{message}"
    );
}

#[test]
fn check_runs_on_the_sim_it_is_given() {
    if seeds_from_env() {
        return;
    }
    Check::new()
        .seeds(3)
        .sim(Sim::builder().start_paused(true).seed(99))
        .run(|sim: Sim| async move {
            assert!(sim.is_paused());
            assert!(sim.seed() < 3, "the sweep's seed, not the builder's");
            let tick = sim.spawn(sim.sleep(Duration::from_secs(5)));
            sim.advance(Duration::from_secs(5)).await;
            assert!(tick.is_finished());
        });
}
