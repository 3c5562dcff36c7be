/*
 * sanitizer-options.c - the settings of the helper's sanitized build (build.sh sanitized) and of the C unit
 * tests, compiled in so that they hold in every process the helper forks, whatever environment started it
 * (ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS still override them).
 *
 * - Every report is fatal (-fno-sanitize-recover=all at build time): the process exits with code 1.
 * - SANITIZER_REPORTS (the sanitized helper: build.sh passes DIR/report) is where ASan's and LeakSanitizer's
 *   reports go, one file per process (report.PID), so that a report fails the run even in a process whose death
 *   a test expects; .ci/check-sanitized-helper fails when one is there. A process already inside an
 *   environment's root (after pivot_root or chroot) cannot open that path: ASan then prints "ERROR: Can't open
 *   file: ..." on its stderr and exits 1. UBSan's reports go to stderr whatever log_path says (gcc's libubsan,
 *   loaded next to libasan, does not take it); the check looks for them in the tests' output.
 * - LeakSanitizer checks at exit(): serve's when the JVM closes its stdin (a request that leaks fails the
 *   run), not the forked processes, which leave with _exit() or execve(). The one-shot commands (run, enter)
 *   keep what their options and their command need until they exit, on purpose: what parse_options(),
 *   run_main() and enter_main() allocate is not reported.
 */
#ifdef SANITIZER_REPORTS
#define LOG_PATH ":log_path=" SANITIZER_REPORTS
#else
#define LOG_PATH ""
#endif

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__lsan_default_suppressions(void);

const char *__asan_default_options(void)
{
    return "detect_leaks=1:print_suppressions=0" LOG_PATH;
}

const char *__ubsan_default_options(void)
{
    return "print_stacktrace=1";
}

const char *__lsan_default_suppressions(void)
{
    return "leak:parse_options\nleak:run_main\nleak:enter_main\n";
}
