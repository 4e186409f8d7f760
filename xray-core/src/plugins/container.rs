//! What a container knows about itself: its host name and, from the cgroup file, its id.

use std::io::Read;
use std::path::Path;

use super::Probe;

/// The cgroup file the ECS and EKS plugins read the container id from.
pub const DEFAULT_CGROUP_PATH: &str = "/proc/self/cgroup";

/// Linux keeps the host name here; in a container it is the container's (ECS) or pod's (EKS).
const HOSTNAME_PATH: &str = "/proc/sys/kernel/hostname";

/// Nothing this module reads is anywhere near this size.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Reads a small text file (at most 1 MiB of it).
pub(super) fn read_small(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// The host name: the kernel's, else `HOSTNAME` (set by most shells and container runtimes),
/// else `COMPUTERNAME` (Windows).
pub(super) fn hostname(probe: &Probe) -> Option<String> {
    read_small(Path::new(HOSTNAME_PATH))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| probe.env("HOSTNAME"))
        .or_else(|| probe.env("COMPUTERNAME"))
}

/// The container id in the cgroup file at `path`.
pub(super) fn container_id(path: &Path) -> Option<String> {
    parse_container_id(&read_small(path).ok()?)
}

/// The 64-hex-digit container id ending one of the cgroup lines.
///
/// cgroup v1 lines end with the id (`.../docker/<id>`, `/kubepods/.../<id>`) or, under the
/// systemd cgroup driver, with a unit named after it (`docker-<id>.scope`,
/// `cri-containerd-<id>.scope`, `crio-<id>.scope`). The Java SDK takes the last 64 characters of
/// the first line longer than that, which misreads the `.scope` forms. A cgroup v2 file (`0::/`)
/// holds no id.
pub(super) fn parse_container_id(cgroup: &str) -> Option<String> {
    cgroup.lines().find_map(|line| {
        let last = line.trim_end().rsplit('/').next()?;
        let unit = last.strip_suffix(".scope").unwrap_or(last);
        let id = unit.rsplit(['-', ':']).next()?;
        (id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "a4d0e1fa7f0a4e3b8c8a1c6f0e2b9d8c7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d";

    #[test]
    fn cgroup_v1_forms() {
        for line in [
            format!("12:memory:/docker/{ID}"),
            format!("11:cpu,cpuacct:/kubepods/burstable/pod1c7ba4b1-5c3e-4c4a-9b3e-2f5e/{ID}"),
            format!("1:name=systemd:/system.slice/docker-{ID}.scope"),
            format!(
                "5:pids:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-{ID}.scope"
            ),
            format!("9:devices:/ecs/8a1b2c3d4e5f/{ID}"),
        ] {
            let file = format!("13:rdma:/\n{line}\n2:cpuset:/\n");
            assert_eq!(parse_container_id(&file).as_deref(), Some(ID), "{line}");
        }
    }

    #[test]
    fn no_id() {
        assert_eq!(parse_container_id("0::/\n"), None);
        assert_eq!(
            parse_container_id("0::/user.slice/user-1000.slice/session-2.scope\n"),
            None
        );
        assert_eq!(parse_container_id(""), None);
        // 64 characters, not all hex.
        assert_eq!(
            parse_container_id(&format!("1:x:/{}", "z".repeat(64))),
            None
        );
    }
}
