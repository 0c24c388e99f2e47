/* pprsim record's preload: starts glibc's malloc tracing in the program pprsim runs, and keeps
 * the trace to that one process.
 *
 * pprsim runs COMMAND with LD_PRELOAD="libc_malloc_debug.so.0 this.so", MALLOC_TRACE=FILE and
 * PPRSIM_RECORD_PARENT=<pprsim's pid>. libc_malloc_debug.so.0 provides the real mtrace(); this
 * library calls it from a constructor. Rules, so that FILE holds one process's calls:
 *  - Only a process whose parent is pprsim traces: COMMAND itself, and each program it execs
 *    in place (an exec keeps the pid and the parent; mtrace() reopens FILE for writing, so the
 *    last program image's trace is what remains: a wrapper script's own calls are dropped).
 *    Programs that COMMAND starts in children of its own do not trace.
 *  - A fork's child inherits the open trace and its unwritten buffer: right after the fork the
 *    child points its copy of the descriptor at /dev/null and stops tracing, so only the parent
 *    writes FILE.
 * It writes nothing itself and allocates nothing. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mcheck.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int trace_fd = -1; /* the descriptor mtrace() writes through, once found */

static void stop_tracing_in_child(void) {
  if (trace_fd < 0) return;
  const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    dup3(null_fd, trace_fd, O_CLOEXEC);
    close(null_fd);
  }
  trace_fd = -1;
  muntrace(); /* writes "= End" to /dev/null, and calls are no longer traced */
}

static long parse_pid(const char* s) {
  long v = 0;
  if (*s == '\0') return -1;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9' || v > 100000000L) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

__attribute__((constructor)) static void pprsim_record_start(void) {
  const char* parent = getenv("PPRSIM_RECORD_PARENT");
  const char* path = getenv("MALLOC_TRACE");
  if (parent == NULL || path == NULL || parse_pid(parent) != (long)getppid()) return;
  struct stat want;
  if (stat(path, &want) != 0) return;
  mtrace();
  for (int fd = 0; fd < 4096; ++fd) {
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
      trace_fd = fd;
      break;
    }
  }
  pthread_atfork(NULL, NULL, stop_tracing_in_child);
}
