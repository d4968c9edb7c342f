/* The exact shuffle copies the rows of X it does not hold from a mapping of the file, under a
 * SIGBUS handler that the library installs in front of the process's own (minibatch.h,
 * "Datasets in files"). These tests check, each in a process of its own (this program run
 * again with the scenario's name), that the handler changes nothing else:
 *   - a SIGBUS of the program's own (its own mapping of a truncated file) still reaches the
 *     program's handler, installed before the library's;
 *   - without a handler, it still ends the process by SIGBUS; so does a SIGBUS sent with
 *     kill;
 *   - a handler the program installs after the library's replaces it, and training still
 *     gives the same weights (the rows are then read with pread);
 *   - a file truncated by another thread while the training reads it stops the training
 *     with MB_ERR_IO (whenever the truncation falls), never with the end of the process. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ref.h"

#define M 4096
#define N 64

static char g_dir[64];
static char g_self[4096];

static void path(char *out, const char *name) { snprintf(out, 256, "%s/%s", g_dir, name); }

static void write_files(void)
{
    static float x[M * N];
    static int32_t y[M];
    uint64_t state = 5;
    for (int i = 0; i < M * N; i++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((state >> 40) % 1000) / 1000.0f;
    }
    for (int r = 0; r < M; r++) y[r] = x[r * N] + x[r * N + 1] > 1.0f;
    char p[256];
    path(p, "x.npy");
    CHECK(npy_write(p, "<f4", "(4096, 64)", x, sizeof x, 0) == 0);
    path(p, "y.npy");
    CHECK(npy_write(p, "<i4", "(4096,)", y, sizeof y, 0) == 0);
}

/* The exact shuffle with a budget of a third of X: most rows come from the mapping. */
static mb_dataset *open_dataset(void)
{
    char xp[256], yp[256];
    path(xp, "x.npy");
    path(yp, "y.npy");
    mb_dataset_options o;
    mb_dataset_options_init(&o);
    o.shuffle = MB_FILE_SHUFFLE_EXACT;
    o.memory_budget = (size_t)M * N * 4 / 3;
    mb_dataset *d = NULL;
    CHECK_STATUS(mb_dataset_open_npy(xp, yp, &o, &d), MB_OK);
    return d;
}

/* The weights after `epochs` epochs of training on the files (n_params floats, malloc'd). */
static float *train(int epochs, int threads, mb_status expected, int64_t *n_params)
{
    int64_t sizes[] = {N, 16, 2};
    mb_model *model = NULL;
    CHECK_STATUS(mb_model_create(sizes, 3, NULL, &model), MB_OK);
    mb_dataset *d = open_dataset();
    mb_train_options t;
    mb_train_options_init(&t);
    t.epochs = epochs;
    t.batch_size = 128;
    t.learning_rate = 0.1f;
    t.seed = 7;
    t.threads = threads;
    CHECK_STATUS(mb_train_dataset(model, d, &t, NULL), expected);
    mb_model_info info;
    mb_model_get_info(model, &info);
    *n_params = info.n_parameters;
    float *weights = malloc((size_t)info.n_parameters * sizeof(float));
    CHECK_STATUS(mb_model_get_parameters(model, weights, info.n_parameters), MB_OK);
    mb_dataset_free(d);
    mb_model_free(model);
    return weights;
}

/* A SIGBUS of the program's own: a page of its own mapping of a file, truncated since. */
static void own_sigbus(void)
{
    char p[256];
    path(p, "own.bin");
    FILE *f = fopen(p, "wb");
    static char page[8192];
    fwrite(page, 1, sizeof page, f);
    fclose(f);
    FILE *r = fopen(p, "rb");
    volatile const char *mapped = mmap(NULL, sizeof page, PROT_READ, MAP_SHARED, fileno(r), 0);
    CHECK(truncate(p, 0) == 0);
    (void)mapped[4096]; /* SIGBUS */
    printf("    no SIGBUS\n");
}

static void program_handler(int signal, siginfo_t *info, void *context)
{
    (void)signal; (void)info; (void)context;
    _exit(42);
}

static void (*handler_of_sigbus(void))(int, siginfo_t *, void *)
{
    struct sigaction current;
    sigaction(SIGBUS, NULL, &current);
    return current.sa_sigaction;
}

/* --- The scenarios, each run in a process of its own. ---------------------------------- */

/* Whether the scenario trains (else it is the control: the same without the library's
 * handler, so that "ends as it would have" is compared with what happens here, under a
 * sanitizer's own handler too). */
static int g_train = 1;

static void train_once(int epochs, int threads)
{
    if (!g_train) return;
    int64_t n;
    free(train(epochs, threads, MB_OK, &n));
}

/* The program's handler, then a training (the library's in front): the program's SIGBUS
 * reaches the program's handler (exit 42). */
static int scenario_program_handler(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = program_handler;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &action, NULL);
    train_once(1, 1);
    CHECK((handler_of_sigbus() != program_handler) == g_train); /* the library's is in front */
    own_sigbus();
    return 1;
}

/* No handler, a training, then the program's SIGBUS: the process ends by SIGBUS (or as
 * a sanitizer's handler ends it). */
static int scenario_default(void)
{
    train_once(1, 2);
    own_sigbus();
    return 1;
}

/* A training, then SIGBUS sent with kill: the process ends by SIGBUS (or as a sanitizer's
 * handler ends it). */
static int scenario_sent(void)
{
    train_once(1, 1);
    kill(getpid(), SIGBUS);
    printf("    survived SIGBUS sent\n");
    return 1;
}

/* A training; the program's handler installed after it; training again gives the same
 * weights, and the program's SIGBUS reaches the program's handler (exit 42). */
static int scenario_replaced(void)
{
    int64_t n = 0;
    float *before = g_train ? train(2, 2, MB_OK, &n) : NULL;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = program_handler;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &action, NULL);
    if (g_train) {
        float *after = train(2, 2, MB_OK, &n);
        CHECK(memcmp(before, after, (size_t)n * sizeof(float)) == 0);
        free(before);
        free(after);
    }
    CHECK(handler_of_sigbus() == program_handler);
    if (check_failed_count_ > 0) return 1;
    own_sigbus();
    return 1;
}

static void *truncate_later(void *argument)
{
    struct timespec wait = {0, (long)(intptr_t)argument};
    nanosleep(&wait, NULL);
    char p[256];
    path(p, "x.npy");
    CHECK(truncate(p, 4096 * 3) == 0);
    return NULL;
}

/* Trainings whose X file another thread truncates after 0 to 40 ms: each ends with
 * MB_ERR_IO ("changed size"), or MB_OK where it ended first; the process goes on. */
static int scenario_truncated_while_training(void)
{
    int io_errors = 0;
    for (int run = 0; run < 8; run++) {
        write_files();
        int64_t sizes[] = {N, 16, 2};
        mb_model *model = NULL;
        mb_model_create(sizes, 3, NULL, &model);
        mb_dataset *d = open_dataset();
        mb_train_options t;
        mb_train_options_init(&t);
        t.epochs = 50;
        t.batch_size = 64;
        t.threads = 1 + run % 2;
        pthread_t thread;
        pthread_create(&thread, NULL, truncate_later, (void *)(intptr_t)(run * 5000000L));
        mb_status s = mb_train_dataset(model, d, &t, NULL);
        pthread_join(thread, NULL);
        CHECK(s == MB_OK || s == MB_ERR_IO);
        if (s == MB_ERR_IO) {
            io_errors++;
            CHECK(strstr(mb_last_error(), "changed size") != NULL);
        }
        mb_dataset_free(d);
        mb_model_free(model);
    }
    CHECK(io_errors > 0);
    return check_failed_count_ > 0;
}

struct scenario {
    const char *name;
    int (*run)(void);
    int has_control; /* 0: it only trains, and must end with exit code 0 */
};

static const struct scenario scenarios[] = {
    {"program_handler", scenario_program_handler, 1},
    {"default", scenario_default, 1},
    {"sent", scenario_sent, 1},
    {"replaced", scenario_replaced, 1},
    {"truncated_while_training", scenario_truncated_while_training, 0},
};
enum { SCENARIOS = sizeof scenarios / sizeof scenarios[0] };

/* Runs scenario i in a new process (this program again), training first or not, and
 * returns how it ended: its exit code, or minus the signal that ended it. */
static int run_scenario(int i, int train_first)
{
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        execl(g_self, g_self, scenarios[i].name, g_dir, train_first ? "train" : "control", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : 1000;
}

/* Scenario i ends as `expected` (its control first: without the library, under a
 * sanitizer, it may end otherwise, and then the scenario must end as its control does). */
static void check_scenario(int i, int expected)
{
    int control = scenarios[i].has_control ? run_scenario(i, 0) : 0;
    if (control != expected) printf("    %s without training ends with %d (a sanitizer's handler?)\n", scenarios[i].name, control);
    int ended = run_scenario(i, 1);
    if (!CHECK(ended == control))
        printf("    scenario %s ended with %d, without training %d\n", scenarios[i].name, ended, control);
}

static void test_program_handler_still_gets_its_sigbus(void) { check_scenario(0, 42); }
static void test_default_sigbus_still_ends_the_process(void) { check_scenario(1, -SIGBUS); }
static void test_sent_sigbus_still_ends_the_process(void) { check_scenario(2, -SIGBUS); }
static void test_a_handler_installed_later_replaces_the_guard(void) { check_scenario(3, 42); }
static void test_file_truncated_while_training_is_an_io_error(void) { check_scenario(4, 0); }

int main(int argc, char **argv)
{
    if (argc == 4) {
        snprintf(g_dir, sizeof g_dir, "%s", argv[2]);
        g_train = strcmp(argv[3], "train") == 0;
        for (int i = 0; i < SCENARIOS; i++)
            if (strcmp(argv[1], scenarios[i].name) == 0) return scenarios[i].run();
        return 126;
    }
    ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
    if (n <= 0) {
        printf("cannot find this program (/proc/self/exe): %s\n", strerror(errno));
        return 1;
    }
    g_self[n] = '\0';
    snprintf(g_dir, sizeof g_dir, "/tmp/mb_mapping_XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    write_files();
    RUN_TEST(test_program_handler_still_gets_its_sigbus);
    RUN_TEST(test_default_sigbus_still_ends_the_process);
    RUN_TEST(test_sent_sigbus_still_ends_the_process);
    RUN_TEST(test_a_handler_installed_later_replaces_the_guard);
    RUN_TEST(test_file_truncated_while_training_is_an_io_error);
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", g_dir);
    if (system(command) != 0) printf("could not remove %s\n", g_dir);
    return check_summary();
}
