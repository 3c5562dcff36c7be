package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * Whether every command of an environment runs under Isolated's built-in seccomp filter, named as Docker names
 * the choice ({@code --security-opt seccomp=unconfined}). A filter of your own
 * ({@link IsolatedEnvironmentBuilder#seccompFilter}) applies in both cases, on top of the built-in one.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public enum Seccomp {
    /**
     * The built-in filter (the default), a deny list in the spirit of Docker's default profile. These system calls
     * fail with {@code EPERM}: {@code keyctl}, {@code add_key}, {@code request_key} (kernel keyrings), {@code bpf},
     * {@code perf_event_open}, {@code userfaultfd}, {@code io_uring_setup}/{@code io_uring_enter}/{@code
     * io_uring_register}, {@code kexec_load}, {@code kexec_file_load}, {@code init_module}, {@code finit_module},
     * {@code delete_module}, {@code iopl}, {@code ioperm}, {@code swapon}, {@code swapoff}, {@code reboot},
     * {@code acct}, {@code settimeofday}, {@code clock_settime}, {@code adjtimex}, {@code clock_adjtime} (the wall
     * clock is the host's), {@code syslog}, {@code vhangup}, {@code quotactl}, {@code quotactl_fd},
     * {@code open_by_handle_at} and the obsolete {@code nfsservctl}, {@code lookup_dcookie}, {@code uselib},
     * {@code ustat}, {@code sysfs}, {@code _sysctl}, {@code create_module}, {@code get_kernel_syms},
     * {@code query_module}; {@code ioctl} with {@code TIOCSTI} or {@code TIOCLINUX} (typing into a terminal);
     * {@code socket} of the families {@code AF_ALG} and {@code AF_VSOCK}; {@code personality} with anything but
     * Docker's five values (no {@code ADDR_NO_RANDOMIZE}). System calls of another ABI than the host's (32-bit
     * i386 or arm programs, x32) and of numbers above 469 (added after Linux 6.17) fail with {@code ENOSYS}.
     *
     * <p>With {@link Capabilities#DOCKER_DEFAULT} it also refuses, as Docker does without {@code CAP_SYS_ADMIN}:
     * {@code mount}, {@code umount2}, {@code pivot_root}, {@code setns}, the new mount API ({@code open_tree},
     * {@code open_tree_attr}, {@code move_mount}, {@code fsopen}, {@code fsconfig}, {@code fsmount},
     * {@code fspick}, {@code mount_setattr}), {@code fanotify_init}, {@code sethostname}, {@code setdomainname}, and
     * {@code clone}/{@code unshare} with a namespace flag ({@code EPERM}; {@code clone3} gets {@code ENOSYS} and
     * glibc falls back to {@code clone}), so no command can make itself a user namespace with a fresh set of
     * capabilities. With {@link Capabilities#ALL} those stay allowed: root inside can mount and unshare.
     * Everything else, {@code ptrace} included, is allowed. Requires an x86_64 or aarch64 host. (One
     * {@code keyctl} is let through: joining a new, empty session keyring, made from one instruction of the
     * helper's own code, so that a command the helper forks inside a rootless environment still gets a keyring
     * of its own; no program in the environment can make that call.)
     */
    DEFAULT,
    /**
     * No built-in filter, as {@code docker run --security-opt seccomp=unconfined}: the code under test can use
     * kernel keyrings (each command still gets a new, empty session keyring of its own, and root inside, a host id
     * of the environment's own range, has a user keyring of its own, never the host root's), {@code bpf},
     * {@code perf_event_open}, {@code io_uring}, and {@code TIOCSTI} on a terminal it holds, and with
     * {@link Capabilities#DOCKER_DEFAULT} it can create user namespaces (where the host allows unprivileged
     * ones) and so use kernel code that needs capabilities there. Capabilities, {@code no_new_privs} and the
     * namespaces still apply.
     */
    UNCONFINED
}
