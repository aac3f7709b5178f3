#!/usr/bin/env bash
# core/ purity gate: core/ must not touch the world directly (design.md §2).
#
#   check_core_purity.sh [path/to/libmc_core.a]
#
# 1. Symbols: every undefined symbol of libmc_core.a that no core object
#    defines must be on the allow list below (pure libc: memory, strings,
#    formatting, math; cJSON_*; abort, and fprintf/stderr for
#    mc_assert_fail). A symbol on the forbidden list (system calls, clocks,
#    threads, environment, randomness, verbs, curl, files, processes,
#    signals) fails with its object named; an unknown one fails too, so a
#    new dependency is a decision: if it is pure, add it to ALLOWED here.
# 2. Sources: the project's before-stop grep over core/*.c and *.h.
# Without an argument, builds mc_core in $MC_PURITY_BUILD (default
# /tmp/build-ci-purity) first.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
lib=${1:-}
if [ -z "$lib" ]; then
  bdir=${MC_PURITY_BUILD:-/tmp/build-ci-purity}
  cmake -S "$repo" -B "$bdir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$bdir" --target mc_core -j"$(nproc)" >/dev/null
  lib=$bdir/core/libmc_core.a
fi
[ -f "$lib" ] || { echo "purity: $lib not found" >&2; exit 2; }

FORBIDDEN='^(socket|socketpair|connect|accept4?|bind|listen|shutdown|send|sendto|sendmsg|recv|recvfrom|recvmsg|setsockopt|getsockopt|getaddrinfo|gethostbyname|epoll_[a-z_]+|poll|ppoll|select|pselect|eventfd|timerfd_[a-z_]+|clock|clock_gettime|clock_getres|clock_nanosleep|gettimeofday|time|times|localtime(_r)?|gmtime(_r)?|mktime|strftime|nanosleep|usleep|sleep|alarm|pthread_[a-z_]+|thrd_[a-z_]+|mtx_[a-z_]+|cnd_[a-z_]+|sched_[a-z_]+|getenv|secure_getenv|setenv|unsetenv|putenv|rand|rand_r|random|srand|srandom|drand48|erand48|lrand48|mrand48|srand48|getrandom|getentropy|arc4random[a-z_]*|ibv_[a-z_]+|rdma_[a-z_]+|curl_[a-z_]+|MHD_[a-z_]+|fopen(64)?|fdopen|freopen|fclose|fread|fwrite|fgets|fputs|puts|printf|vprintf|scanf|open(64)?|openat(64)?|creat|close|read|write|pread(64)?|pwrite(64)?|readv|writev|lseek(64)?|stat(64)?|fstat(64)?|lstat|unlink|rename|mkdir|opendir|readdir|ioctl|fcntl|mmap(64)?|munmap|mprotect|madvise|shm_open|shm_unlink|fork|vfork|clone|exec[a-z]*|posix_spawn[a-z]*|system|popen|wait|waitpid|exit|_exit|atexit|signal|sigaction|raise|kill|getpid|getppid|gethostname|uname|dlopen|dlsym|syscall|setlocale|isatty)$'

ALLOWED='^(regcomp|regexec|regerror|regfree|malloc|calloc|realloc|free|aligned_alloc|posix_memalign|memcpy|memmove|memset|memcmp|bcmp|memchr|memrchr|memmem|strlen|strnlen|strcmp|strncmp|strcasecmp|strncasecmp|strchr|strrchr|strstr|strspn|strcspn|strpbrk|strdup|strndup|strcpy|strncpy|stpcpy|strcat|strncat|strtok_r|strtol|strtoll|strtoul|strtoull|strtod|strtof|__isoc23_strto[a-z]+|snprintf|vsnprintf|sprintf|vsprintf|__snprintf_chk|__vsnprintf_chk|__sprintf_chk|__memcpy_chk|__memmove_chk|__memset_chk|__strcpy_chk|__strcat_chk|__stack_chk_fail|sscanf|__isoc99_sscanf|__isoc23_sscanf|qsort|bsearch|abs|labs|llabs|__ctype_b_loc|__ctype_tolower_loc|__ctype_toupper_loc|tolower|toupper|sqrt|pow|exp|log|log2|log10|floor|ceil|round|lround|llround|fabs|fmod|fmin|fmax|isnan|isinf|__isnan|__isinf|regcomp|regexec|regerror|regfree|__errno_location|abort|fprintf|stderr|cJSON_[A-Za-z_]+|_GLOBAL_OFFSET_TABLE_|__(asan|ubsan|sanitizer|gcov|llvm|tsan|msan)_[A-Za-z0-9_]+|__sancov_[a-z_]+|__cyg_profile_[a-z_]+)$'

status=0
echo "purity: checking $(basename "$lib") symbols"
# One pass: symbols some core object defines are internal; the rest of the
# undefined references ("object: symbol") are classified by the lists.
report=$( { nm --defined-only "$lib" 2>/dev/null | awk 'NF==3 {print "D", $3}'
            nm -u -A "$lib" 2>/dev/null | sed -E 's/^[^:]*:([^:]+):[[:space:]]*U[[:space:]]+(.*)$/U \1 \2/'; } |
  awk -v forbidden="$FORBIDDEN" -v allowed="$ALLOWED" '
    $1 == "D" { def[$2] = 1; next }
    $1 == "U" { sub(/@.*/, "", $3); if (!(($2 " " $3) in seen)) { seen[$2 " " $3] = 1; obj[n] = $2; sym[n++] = $3 } }
    END {
      for (i = 0; i < n; i++) {
        s = sym[i]
        if (s in def) continue
        if (s ~ /^mc_/) { print "NOTE " obj[i] ": " s; continue }  # declared, not yet defined: the link reports it
        if (s ~ forbidden) print "FORBIDDEN " obj[i] ": " s
        else if (s !~ allowed) print "UNKNOWN " obj[i] ": " s
        else print "OK"
      }
      print "TOTAL " n
    }')
while read -r kind rest; do
  [ "$kind" = NOTE ] && echo "purity: note: $rest, which no core object defines"
done <<<"$report"
if grep -q '^FORBIDDEN' <<<"$report"; then
  echo "purity: FAIL core/ calls the outside world directly (go through mc_env_ops_t instead):"
  sed -n 's/^FORBIDDEN /  /p' <<<"$report"
  status=1
fi
if grep -q '^UNKNOWN' <<<"$report"; then
  echo "purity: FAIL core/ references symbols not on the allow list (if pure, add them to ALLOWED in $0):"
  sed -n 's/^UNKNOWN /  /p' <<<"$report"
  status=1
fi
undef=$(sed -n 's/^TOTAL //p' <<<"$report")
[ $status -eq 0 ] && echo "purity: symbols OK ($undef undefined references, all internal or allowed)"

# The project's own source grep (shared/hooks/before-stop), kept identical.
echo "purity: grepping core/ sources"
hits=$(cd "$repo" && grep -rnP '(?<![.>\w])(socket|connect|accept|epoll_[a-z]+|clock_gettime|gettimeofday|time|nanosleep|usleep|sleep|pthread_[a-z_]+|getenv|rand|random|srand|ibv_[a-z_]+|curl_[a-z_]+|fopen|open|read|write|mmap)\s*\(' core --include='*.c' --include='*.h' 2>/dev/null | grep -vE '^\S+:\s*(//|\*|/\*)' || true)
if [ -n "$hits" ]; then
  echo "purity: FAIL core/ sources seem to call the outside world directly:"
  sed 's/^/  /' <<<"$hits"
  status=1
else
  echo "purity: sources OK"
fi
[ $status -eq 0 ] && echo "purity: PASS" || echo "purity: core/ is not pure (design.md §2: every side effect goes through the environment interface)"
exit $status
