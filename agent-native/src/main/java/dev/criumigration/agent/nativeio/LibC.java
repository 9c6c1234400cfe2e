package dev.criumigration.agent.nativeio;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.StringArray;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;

/**
 * The narrow slice of Linux glibc the agent needs, mapped with JNA. Sizes ({@code size_t},
 * {@code ssize_t}, {@code long}) are Java {@code long}: the agent runs on 64-bit Linux (LP64) only.
 * Constants are Linux's (x86_64 and aarch64 agree on all of them). Callers read errno with
 * {@link NativeException#lastError(String)} right after a failed call.
 */
public interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    int AF_UNIX = 1;
    int SOCK_STREAM = 1;
    int SOCK_SEQPACKET = 5;
    int SOCK_CLOEXEC = 0x80000;

    int MSG_PEEK = 0x2;
    int MSG_TRUNC = 0x20;
    int MSG_DONTWAIT = 0x40;
    int MSG_NOSIGNAL = 0x4000;

    short POLLIN = 0x1;
    short POLLERR = 0x8;
    short POLLHUP = 0x10;
    short POLLNVAL = 0x20;

    int SHUT_WR = 1;
    int SHUT_RDWR = 2;

    int F_GETFD = 1;
    int F_SETFD = 2;
    int FD_CLOEXEC = 1;

    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_CREAT = 0x40;
    int O_APPEND = 0x400;

    /** glibc 2.26+: the child calls setsid(), so a terminal's Ctrl-C does not reach it. */
    short POSIX_SPAWN_SETSIGDEF = 0x04;
    short POSIX_SPAWN_SETSIGMASK = 0x08;
    short POSIX_SPAWN_SETSID = 0x80;
    /** Generous upper bounds of glibc's opaque posix_spawn types (80 and 336 bytes on x86_64). */
    int SPAWN_FILE_ACTIONS_SIZE = 512;
    int SPAWN_ATTR_SIZE = 1024;
    int SIGSET_SIZE = 128;

    int WNOHANG = 1;

    int SIGKILL = 9;
    int SIGTERM = 15;
    int SIGCONT = 18;
    int SIGSTOP = 19;

    int MS_NOSUID = 0x2;
    int MS_NODEV = 0x4;
    int MNT_DETACH = 0x2;

    int EPERM = 1;
    int ESRCH = 3;
    int EINTR = 4;
    int ECHILD = 10;
    int EAGAIN = 11;
    int EBUSY = 16;
    int EINVAL = 22;
    int EPIPE = 32;
    int ECONNRESET = 104;
    int ENOTCONN = 107;

    /** struct pollfd. */
    @Structure.FieldOrder({"fd", "events", "revents"})
    final class PollFd extends Structure {
        public int fd;
        public short events;
        public short revents;
    }

    /** struct statfs of 64-bit Linux (every field a long, f_fsid two ints). */
    @Structure.FieldOrder({"f_type", "f_bsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree",
            "f_fsid", "f_namelen", "f_frsize", "f_flags", "f_spare"})
    final class StatFs extends Structure {
        public long f_type;
        public long f_bsize;
        public long f_blocks;
        public long f_bfree;
        public long f_bavail;
        public long f_files;
        public long f_ffree;
        public int[] f_fsid = new int[2];
        public long f_namelen;
        public long f_frsize;
        public long f_flags;
        public long[] f_spare = new long[4];
    }

    int socketpair(int domain, int type, int protocol, int[] sv);

    long send(int fd, byte[] buf, long len, int flags);

    long recv(int fd, byte[] buf, long len, int flags);

    int poll(PollFd[] fds, long nfds, int timeoutMillis);

    long read(int fd, Pointer buf, long count);

    long write(int fd, Pointer buf, long count);

    int shutdown(int fd, int how);

    int close(int fd);

    int fcntl(int fd, int cmd, int arg);

    int posix_spawn(IntByReference pid, String path, Pointer fileActions, Pointer attr, StringArray argv, StringArray envp);

    int posix_spawnp(IntByReference pid, String file, Pointer fileActions, Pointer attr, StringArray argv, StringArray envp);

    int posix_spawn_file_actions_init(Pointer fileActions);

    int posix_spawn_file_actions_adddup2(Pointer fileActions, int fd, int newFd);

    int posix_spawn_file_actions_addclose(Pointer fileActions, int fd);

    int posix_spawn_file_actions_addopen(Pointer fileActions, int fd, String path, int flags, int mode);

    int posix_spawn_file_actions_destroy(Pointer fileActions);

    int posix_spawnattr_init(Pointer attr);

    int posix_spawnattr_setflags(Pointer attr, short flags);

    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

    int posix_spawnattr_destroy(Pointer attr);

    int sigemptyset(Pointer sigset);

    int sigfillset(Pointer sigset);

    int waitpid(int pid, IntByReference status, int options);

    int kill(int pid, int sig);

    int mount(String source, String target, String fileSystemType, long flags, String data);

    int umount2(String target, int flags);

    int statfs(String path, StatFs buf);

    String strerror(int errnum);

    int getpid();

    /** strerror's text for {@code errno}. */
    static String describe(int errno) {
        return INSTANCE.strerror(errno);
    }
}
