//! Identifying a process before signalling it: its start time (from `/proc/PID/stat`) and
//! command line must match what the daemon recorded, so a reused pid is never killed.

use std::path::Path;

/// The start time of a process in clock ticks since boot, if it exists.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces and parentheses).
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The command line of a process, arguments separated by NUL.
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Whether `pid` is the Guardian daemon (`serve` or `host`) of `home` that started at `ticks`.
pub fn is_guardian_of(pid: u32, ticks: u64, home: &Path) -> bool {
    if start_ticks(pid) != Some(ticks) {
        return false;
    }
    let Some(args) = cmdline(pid) else {
        return false;
    };
    let home = home.to_string_lossy();
    args.iter().any(|a| a == "serve" || a == "host")
        && args
            .windows(2)
            .any(|w| w[0] == "--home" && w[1] == home.as_ref())
}

/// Whether a process with this pid exists at all.
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Sends a signal; `false` if the process is gone.
pub fn signal(pid: u32, sig: rustix::process::Signal) -> bool {
    match i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        Some(p) => rustix::process::kill_process(p, sig).is_ok(),
        None => false,
    }
}

/// A Guardian daemon (`serve` or `host`) started with `--home <home>`, other than this process:
/// for a home that was deleted under it (no state file names it any more).
pub fn find_daemon_of(home: &Path) -> Option<u32> {
    let me = std::process::id();
    let home = home.to_string_lossy();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .find(|&pid| {
            cmdline(pid).is_some_and(|args| {
                args.iter().skip(1).any(|a| a == "serve" || a == "host")
                    && args
                        .windows(2)
                        .any(|w| w[0] == "--home" && w[1] == home.as_ref())
            })
        })
}
