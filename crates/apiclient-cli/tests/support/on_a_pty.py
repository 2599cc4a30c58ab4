"""Run a command with a pseudo-terminal as its stdin, stdout and stderr (as a
person at a terminal would), $PTY_COLUMNS wide if set; print everything the
terminal showed and exit with the command's exit code. Bounded: the command
is killed after 120 s."""
import os, pty, select, signal, sys, time

pid, fd = pty.fork()
if pid == 0:
    # PTY_COLUMNS: the terminal's width (a new pty has none)
    if os.environ.get("PTY_COLUMNS"):
        import fcntl, struct, termios
        size = struct.pack("HHHH", 24, int(os.environ["PTY_COLUMNS"]), 0, 0)
        fcntl.ioctl(1, termios.TIOCSWINSZ, size)
    os.execv(sys.argv[1], sys.argv[1:])
out, deadline = b"", time.time() + 120
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 1)
    if not ready:
        continue
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
else:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
