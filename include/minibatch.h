/*
 * minibatch.h - the C interface of libminibatch: mini-batch gradient descent for
 * fully connected networks and linear models.
 *
 * Every exported name starts with mb_ (functions, types) or MB_ (constants, macros).
 *
 * Conventions that hold for every function below
 * ------------------------------------------------
 * Status.     Every function that can fail returns an mb_status. MB_OK (0) means success;
 *             any other value means nothing was changed (unless the function says otherwise)
 *             and mb_last_error() holds a message naming the offending argument.
 * Messages.   mb_last_error() returns the message of the most recent failed call on the
 *             calling thread. Successful calls leave it unchanged. The pointer stays valid
 *             until the next failing call on the same thread; copy it to keep it.
 * Shapes.     All matrices are dense, row-major (C order), without padding:
 *               X        (m, n_features)  float32, one example per row;
 *               targets  either float32 (m, n_outputs) (MB_TARGETS_FLOAT32: values,
 *                        probabilities or one-hot rows) or int32 class indices (m)
 *                        (MB_TARGETS_CLASS_INDEX).
 *             Sizes are int64_t and must be positive. Pointers are never NULL unless the
 *             function says so. The library cannot see the length of a caller's buffer: a
 *             buffer must hold at least the number of elements its shape says.
 * Data.       X and float targets must be finite (no NaN or Inf); class indices must lie
 *             in [0, n_outputs). Both are checked before any work starts.
 * Ownership.  The caller owns every buffer it passes and every buffer it receives results
 *             in; the library keeps no pointer to them after a call returns. The library
 *             owns the objects behind handles (mb_model, mb_history); each *_create or
 *             *_load has a *_free, and *_free(NULL) does nothing.
 * Threads.    Distinct handles may be used from distinct threads at the same time. Calls
 *             that take a const handle may run concurrently with each other. While a
 *             training call (mb_train, mb_train_dataset) uses a model and a history, any
 *             other call that would change them (training, mb_model_set_parameters,
 *             mb_history_clear) returns MB_ERR_BUSY, from the progress callback or from
 *             another thread; they may be read from the progress callback (between two
 *             epochs), and a read from another thread, or from a communicator's function
 *             (in the middle of a step), returns MB_ERR_BUSY. A call that
 *             reads a model makes a training call started meanwhile return MB_ERR_BUSY.
 *             *_free must not race with other calls on the same handle; a model,
 *             history or dataset freed from a progress callback lives until the training
 *             call returns. Functions without
 *             a handle are thread-safe. Matrix products run in the library's backend
 *             (mb_get_blas_info): its OpenBLAS's own thread count is set with
 *             OPENBLAS_NUM_THREADS; training splits each mini-batch across its own threads
 *             instead (mb_train_options.threads). Those are kept after a call, asleep, for
 *             the next call that asks for as many (as OpenBLAS keeps its own), or for a
 *             large mb_shuffle_into; a process forked after a call makes its own. The
 *             library binds none of its threads to a CPU, and since 0.12.4 leaves the
 *             process's environment as it was: its libxsmm, when it starts (the first call
 *             that multiplies matrices or reports the backend), sets OMP_PROC_BIND=TRUE where
 *             it is unset or empty (I_MPI_SHM_HEAP=1 instead where an MPI library is loaded),
 *             which made an OpenMP runtime started later in the process, or in a child,
 *             bind its threads; the library puts both back as they were. Another thread
 *             that reads the environment during that first start may see libxsmm's value.
 *             (libxsmm also keeps a lock file, /tmp/.libxsmm.<uid>, open: close-on-exec.)
 *             The process may exit (exit(), main returning) while another thread trains:
 *             since 0.12.4 that thread waits at its next matrix product for the process to
 *             end (libxsmm's exit handler freed the kernels it was running: SIGSEGV), and
 *             the exiting thread may still call the library from an exit handler or a
 *             static destructor (its products then run on OpenBLAS, and a prediction's
 *             passes on that thread alone: 0.12.6).
 * Limits.     Every limit is checked and is MB_ERR_INVALID_ARGUMENT (or MB_ERR_FORMAT in a
 *             file), never a trap or a wrapped size:
 *               layer sizes, n_features, batch_size   1 .. 2^31 - 1 (BLAS takes 32-bit sizes);
 *                                                     batch_size also <= m
 *               n_layers                              2 .. 2^20
 *               m, epochs                             1 .. INT64_MAX (mb_partition of
 *                                                     INT64_MAX rows is valid)
 *               a buffer of n elements of b bytes     n * b <= INT64_MAX (mb_random: count
 *                                                     <= 2^60 - 1; mb_permutation,
 *                                                     mb_make_moons: m <= 2^60 - 1;
 *                                                     mb_shuffle, mb_shuffle_into: m times
 *                                                     each row's bytes <= 2^60 - 1)
 *               m * n_features, m * n_outputs         <= 2^60 - 1 (a float buffer's bytes
 *                                                     are then a number)
 *               the parameters of a model             <= 2^60 - 1 (more cannot be
 *                                                     allocated: MB_ERR_OUT_OF_MEMORY)
 *               threads                               0 .. 256
 *               memory_budget (training, datasets)    0 and >= 2^62 (SIZE_MAX): see each
 *               block_bytes                           1 .. 2^40
 *               a model file                          <= 2^40 bytes
 *               a .npy header                         <= 1 MiB
 * Numbers.    Results are bit-identical for the same inputs, seed, library version and
 *             training thread count (mb_train_options.threads) on the same machine with
 *             the same kernels (mb_get_blas_info; OPENBLAS_CORETYPE can change OpenBLAS's).
 */
#ifndef MINIBATCH_H
#define MINIBATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------- */

#define MB_VERSION_MAJOR 0
#define MB_VERSION_MINOR 12
#define MB_VERSION_PATCH 6
#define MB_VERSION_STRING "0.12.6"
/* MB_VERSION_NUMBER = major * 10000 + minor * 100 + patch. */
#define MB_VERSION_NUMBER (MB_VERSION_MAJOR * 10000 + MB_VERSION_MINOR * 100 + MB_VERSION_PATCH)

/* The version of the library actually loaded, as "MAJOR.MINOR.PATCH" (static storage). */
const char *mb_version(void);

/* The same as a number, MAJOR * 10000 + MINOR * 100 + PATCH; compare with MB_VERSION_NUMBER
 * to detect a header/library mismatch. */
int32_t mb_version_number(void);

/* ---------------------------------------------------------------------------------------
 * Status and errors
 * ------------------------------------------------------------------------------------- */

typedef enum mb_status {
    MB_OK = 0,
    MB_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, bad size or shape, value out of range,
                                    NaN/Inf in the data, unknown enum value */
    MB_ERR_OUT_OF_MEMORY = 2,    /* an allocation failed; nothing was changed */
    MB_ERR_IO = 3,               /* a file could not be opened, read, written, synced or renamed */
    MB_ERR_FORMAT = 4,           /* a model file is truncated, corrupted or of another format */
    MB_ERR_DIVERGED = 5,         /* training cost or an update became NaN or Inf: training
                                    stopped; the model keeps the last weights that gave a
                                    finite cost (a non-finite update is not applied; a batch
                                    whose cost is not finite puts back the weights from before
                                    the update that led to it, unless that update was the
                                    fused kind, which changes them in place); from a
                                    prediction: an output is NaN or Inf (finite inputs that
                                    overflow the model's weights) */
    MB_ERR_CANCELLED = 6,        /* the progress callback asked training to stop: the model
                                    keeps the weights reached at the end of that epoch; or
                                    an mb_interrupt did: the model keeps the weights of the
                                    last mini-batch trained (see mb_interrupt) */
    MB_ERR_INTERNAL = 7,         /* a bug in minibatch; please report it */
    MB_ERR_BUSY = 8,             /* the model or history is in use by a training call: it
                                    was trained, changed or cleared from that call's progress
                                    callback, or used from another thread while it trains
                                    (see Threads above); nothing was changed */
    MB_ERR_COMMUNICATION = 9     /* distributed training: a communicator function failed
                                    (see mb_communicator), or (since 0.12.3; MB_ERR_INTERNAL
                                    before) the ranks' failure flags and failure records, as
                                    its collectives returned them, disagree: values the
                                    ranks did not send. Other wrong values are not
                                    detected (a wrong gradient sum trains on) */
} mb_status;

/* The message of the last failed call on this thread ("" if none). Never NULL. */
const char *mb_last_error(void);

/* A short constant name for a status, such as "MB_ERR_IO" ("unknown status" otherwise). */
const char *mb_status_name(mb_status status);

/* ---------------------------------------------------------------------------------------
 * Matrix products: what runs them
 *
 * Every matrix product of the library goes through one backend built into it: libxsmm's
 * JIT kernels (generated at run time for the instruction set the CPU reports through CPUID:
 * AVX2, AVX-512 and later) for the products libxsmm supports and was measured faster at
 * (d input = dz W, dW = dz^T input and, with the first layer's W kept transposed while
 * training, its forward product x (W^T), dW^T = input^T dz and the fused update; see
 * mb_blas_info's training_forward; since 0.12.2 also x W^T through a copy of W^T, for a W
 * of up to 2^17 floats, from 128 rows (32 where OpenBLAS's kernels are narrower than
 * libxsmm's AVX-512 ones), in a training step or mb_gradient, and elsewhere (predictions,
 * validation) below 2^19 multiply-adds, which OpenBLAS runs on one thread anyway), and
 * minibatch's own OpenBLAS 0.3.34 (DYNAMIC_ARCH, from the pinned scipy-openblas32 wheel,
 * shipped beside libminibatch.so as libscipy_openblas.so, every symbol prefixed scipy_) for
 * the rest (the other forward products x W^T, training's and predictions'). Neither clashes with the OpenBLAS that numpy, SciPy or the system load into the
 * same process. OPENBLAS_NUM_THREADS (else OMP_NUM_THREADS, else the CPUs) sets the
 * OpenBLAS threads; OPENBLAS_CORETYPE, where set, chooses its kernels; libxsmm follows the
 * CPU alone.
 * ------------------------------------------------------------------------------------- */

/* Filled by mb_get_blas_info. Instruction sets are one of "avx512", "avx2", "avx", "sse",
 * "generic". Strings are static: valid for the life of the process. */
typedef struct mb_blas_info {
    size_t struct_size;           /* set by the caller: sizeof(mb_blas_info) */
    const char *backend;          /* "libxsmm 1.17.0 + OpenBLAS 0.3.34.481.3" */
    const char *openblas_version; /* "0.3.34.481.3" */
    const char *openblas_core;    /* OpenBLAS's kernel set here: "SkylakeX", "Haswell", ... */
    const char *openblas_isa;     /* the instruction set of those kernels */
    const char *libxsmm_version;  /* "1.17.0" */
    const char *libxsmm_target;   /* libxsmm's code target here: "cpx", "spr", "hsw", ... */
    const char *libxsmm_isa;      /* the instruction set of the code libxsmm generates */
    const char *cpu_isa;          /* the widest set the CPU and the OS support */
    int32_t threads;              /* OpenBLAS's threads outside training (the automatic
                                     training team has as many members) */
    const char *training_forward; /* since 0.2.0: what runs training's forward products
                                     x W^T: libxsmm on the first layer's W,
                                     which training keeps transposed while its batches run
                                     (a W of fewer than 2^18 floats; of any size
                                     with AVX-512 kernels, since 0.12.1; README,
                                     Matrix products),
                                     for the others libxsmm through a copy of W^T where
                                     W has at most 2^17 floats and the product 128 rows
                                     or more (32 where OpenBLAS's kernels are narrower
                                     than libxsmm's AVX-512 ones; since 0.12.2),
                                     OpenBLAS otherwise; where libxsmm's kernels are
                                     narrower than AVX-512, libxsmm only for products
                                     whose operands fit a core's L2, whose size it
                                     names. Predictions and validation take the copy
                                     below 2^19 multiply-adds only (OpenBLAS runs those
                                     on one thread anyway); larger ones stay on
                                     OpenBLAS */
    const char *activations;      /* since 0.9.0: what runs tanh, logistic and GELU hidden
                                     layers (since 0.10.0 SiLU, ELU and SELU too): glibc's
                                     vector tanhf, expf, expm1f and erfcf (libmvec) at a
                                     vector width, "libmvec tanhf, expf, expm1f, erfcf
                                     (avx512)" (0.9.0: "libmvec tanhf, expf, erfcf
                                     (avx512)"), or the C library's scalar functions
                                     ("scalar tanhf, expf, expm1f, erfcf: no libmvec") */
} mb_blas_info;

/* Fills *info. info->struct_size must be set to sizeof(mb_blas_info) by the caller (a
 * caller compiled against an older, shorter struct gets the fields it knows).
 * Errors: MB_ERR_INVALID_ARGUMENT if info is NULL or struct_size is smaller than the
 * struct of its first release (the fields up to `threads`); a field past struct_size is
 * not written. */
mb_status mb_get_blas_info(mb_blas_info *info);

/* ---------------------------------------------------------------------------------------
 * The random generator and the shuffle order
 *
 * All randomness comes from this generator, never from the system, so an order or an
 * initialisation is the same on every machine and every version with this contract:
 *
 *   splitmix64(x): x += 0x9E3779B97F4A7C15; z = x;
 *                  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
 *                  z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *                  return z ^ (z >> 31)       (all arithmetic modulo 2^64)
 *   mix(v)       = the output of splitmix64 with its state set to v (one step)
 *   stream (seed, s): key = mix(mix(seed) ^ s); the four xoshiro256** state words are
 *                  the first four outputs of splitmix64 started from state key.
 *   next()       = xoshiro256** (Blackman and Vigna, 2018): 64-bit outputs.
 *   below(n)     = an integer uniform in [0, n): Lemire's multiply-shift with rejection:
 *                  r = next(); p = r * n (128-bit); lo = low 64 bits of p;
 *                  if lo < n: t = (2^64 - n) mod n; while lo < t: r = next(), p = r * n,
 *                  lo = low 64 bits; return high 64 bits of p.
 *   permutation(m, seed, epoch): perm = 0, 1, ..., m-1; generator = stream(seed, epoch);
 *                  for i = m-1 down to 1: j = below(i + 1); swap perm[i] and perm[j].
 *
 * The permutation of any (seed, epoch) is computed directly, without the earlier epochs.
 * Training uses stream (seed, e) for the order of epoch e (counting from 0 over the
 * model's whole life, see mb_model_info.epochs_trained) and stream
 * (seed, MB_STREAM_INIT) for the initial weights.
 * ------------------------------------------------------------------------------------- */

#define MB_STREAM_INIT 0xFFFFFFFFFFFFFFFFull

/* Writes the first `count` 64-bit outputs of stream (seed, stream) to out[0..count).
 * Lets other implementations check themselves against the contract above. */
mb_status mb_random(uint64_t seed, uint64_t stream, uint64_t *out, int64_t count);

/* Writes permutation(m, seed, epoch) to perm[0..m): the order in which epoch `epoch` of
 * training with `seed` visits the examples. Shuffled row k is original row perm[k]. */
mb_status mb_permutation(int64_t m, uint64_t seed, uint64_t epoch, int64_t *perm);

/* Shuffles the m rows of x, and of y with the same permutation, in place, so that pairs
 * stay matched: afterwards row k holds what row perm[k] held, perm =
 * mb_permutation(m, seed, epoch). Rows are opaque bytes of any width (x_row_bytes > 0):
 * any element type, any number of columns. y may be NULL (then y_row_bytes must be 0).
 * Uses no memory beyond one row. */
mb_status mb_shuffle(void *x, size_t x_row_bytes, void *y, size_t y_row_bytes, int64_t m,
                     uint64_t seed, uint64_t epoch);

/* The same shuffle written into caller buffers, leaving x and y unchanged:
 * x_out row k = x row perm[k], y_out row k = y row perm[k]. The output buffers must not
 * overlap the inputs. y and y_out are both NULL or both non-NULL. Since 0.12.0, from 8 MiB
 * of rows (x's and y's together) they are copied on several threads, one per full 4 MiB, up
 * to training's automatic count (OPENBLAS_NUM_THREADS, else the CPUs) and to the threads
 * kept by the last training call or large shuffle when there are (see Threads above), used
 * at their own count, each its own part of the output: the same bytes as one thread
 * writes. */
mb_status mb_shuffle_into(const void *x, size_t x_row_bytes, const void *y,
                          size_t y_row_bytes, int64_t m, uint64_t seed, uint64_t epoch,
                          void *x_out, void *y_out);

/* ---------------------------------------------------------------------------------------
 * Partition into mini-batches
 * ------------------------------------------------------------------------------------- */

/* What happens to the last batch when batch_size does not divide m. */
typedef enum mb_last_batch {
    MB_LAST_BATCH_KEEP = 0, /* keep it: ceil(m / batch_size) batches, the last smaller; its
                               cost is the mean over the examples it actually has */
    MB_LAST_BATCH_DROP = 1  /* drop it: floor(m / batch_size) batches, all full; the
                               dropped examples differ from epoch to epoch */
} mb_last_batch;

/* batch_size value that asks for the automatic rule (see mb_auto_batch_size). */
#define MB_BATCH_AUTO (-1)

/* The mini-batches of m examples: batch i covers rows [starts[i], starts[i] + counts[i]) of
 * the shuffled data, in order, each row exactly once (rows past the last full batch are
 * left out with MB_LAST_BATCH_DROP). Writes the number of batches to *n_batches.
 * starts and counts may both be NULL to ask for the number only; otherwise both hold
 * `capacity` elements and capacity must be at least the number of batches.
 * 1 <= batch_size <= m. */
mb_status mb_partition(int64_t m, int64_t batch_size, mb_last_batch last_batch,
                       int64_t *starts, int64_t *counts, int64_t capacity,
                       int64_t *n_batches);

/* ---------------------------------------------------------------------------------------
 * Models
 *
 * A model is a stack of fully connected layers: layer_sizes[0] inputs, hidden layers of
 * layer_sizes[1..n-2] units, layer_sizes[n-1] outputs. Each layer computes
 * Z = A_prev W^T + b, with W of shape (n_out, n_in) and b of shape (n_out), then its
 * activation. With two sizes (no hidden layer) and MB_LOSS_MSE this is linear regression;
 * with MB_LOSS_BINARY_CROSS_ENTROPY logistic regression; with MB_LOSS_CROSS_ENTROPY
 * multinomial logistic (softmax) regression; with MB_LOSS_POISSON Poisson regression.
 *
 * Parameters live in one flat float32 buffer: for layer 1, 2, ... in order, W (n_out, n_in)
 * row-major then b (n_out). mb_model_layer gives each layer's offsets.
 * ------------------------------------------------------------------------------------- */

typedef struct mb_model mb_model;

typedef enum mb_activation {
    MB_ACTIVATION_LINEAR = 0,  /* g(z) = z */
    MB_ACTIVATION_RELU = 1,    /* g(z) = max(z, 0); g'(0) = 0 */
    MB_ACTIVATION_TANH = 2,    /* g(z) = tanh z */
    MB_ACTIVATION_SIGMOID = 3, /* g(z) = 1 / (1 + e^-z) */
    /* Since 0.5.0 (an older library refuses them, and cannot load a file that has them): */
    MB_ACTIVATION_LEAKY_RELU = 4, /* g(z) = z for z > 0, else 0.01 z (PyTorch's LeakyReLU());
                                     g'(0) = 0.01 */
    MB_ACTIVATION_ELU = 5,     /* g(z) = z for z > 0, else e^z - 1 (PyTorch's ELU(), alpha 1) */
    MB_ACTIVATION_SELU = 6,    /* g(z) = l z for z > 0, else l a (e^z - 1), with PyTorch's SELU
                                  constants l = 1.0507009873554805, a = 1.6732632423543772
                                  (float; l a rounded to float once). The derivatives of
                                  ELU and SELU below 0 are taken from the output (a + 1,
                                  a + l a), as PyTorch's in-place form: exact to about 2^-24
                                  absolute, so 0 below z = -17 */
    MB_ACTIVATION_GELU = 7,    /* g(z) = z Phi(z), Phi the standard normal distribution
                                  function, (1 + erf(z / sqrt 2)) / 2: PyTorch's GELU() (exact
                                  form; computed since 0.9.0 as erfc(-z / sqrt 2) / 2, which
                                  keeps its relative accuracy below z = -3, where float's
                                  1 + erf cancels: PyTorch's GELU(z) is -0 below -5.6).
                                  Training keeps z for its derivative Phi(z) + z phi(z):
                                  one more float per unit and row in the working memory */
    MB_ACTIVATION_SILU = 8     /* g(z) = z / (1 + e^-z): PyTorch's SiLU(), Keras's swish; z
                                  kept as GELU's */
} mb_activation;

/* The output layer and its cost come in pairs; each cost is a mean over the batch. */
typedef enum mb_loss {
    MB_LOSS_MSE = 0,                  /* linear output, mean squared error:
                                         mean over rows and outputs of (a - y)^2 */
    MB_LOSS_BINARY_CROSS_ENTROPY = 1, /* sigmoid outputs, each a probability:
                                         mean over rows and outputs of
                                         -(y log a + (1 - y) log(1 - a)); targets in [0, 1] */
    MB_LOSS_CROSS_ENTROPY = 2,        /* softmax over >= 2 outputs: mean over rows of
                                         -sum_j y_j log a_j; targets are class indices or
                                         rows of non-negative weights summing to 1 */
    MB_LOSS_POISSON = 3               /* since 0.4.0: exponential outputs a = e^z (log
                                         link), half the Poisson deviance: mean over rows
                                         and outputs of y log(y / a) - y + a (y log y = 0
                                         at y = 0); targets are counts or rates, y >= 0.
                                         scikit-learn's MLPRegressor(loss='poisson') */
} mb_loss;

typedef enum mb_init {
    MB_INIT_AUTO = 0,   /* He for hidden layers whose activation is ReLU or leaky ReLU,
                           LeCun for SELU hidden layers (since 0.9.0; Xavier before),
                           Xavier for the other layers (the output layer included) */
    MB_INIT_HE = 1,     /* W ~ Normal(0, 2 / n_in) */
    MB_INIT_XAVIER = 2, /* W ~ Normal(0, 2 / (n_in + n_out)) (Glorot normal) */
    MB_INIT_LECUN = 3   /* since 0.9.0: W ~ Normal(0, 1 / n_in) (LeCun normal: PyTorch's
                           kaiming_normal_(nonlinearity='linear'), the variance of Keras's
                           lecun_normal, which truncates the normal; the initialisation
                           SELU's self-normalisation assumes; a library older than 0.9.0
                           refuses it) */
} mb_init;
/* Initial weights: the k-th weight (counting weights only, layer by layer in parameter
 * order) is its layer's standard deviation times N_k, where N_0, N_1, ... are standard
 * normal draws from stream (seed, MB_STREAM_INIT): each pair of uniforms
 * u1 = (next() >> 11) * 2^-53, u2 = (next() >> 11) * 2^-53 gives, by Box-Muller,
 * r = sqrt(-2 ln(1 - u1)), N = r cos(2 pi u2) then N = r sin(2 pi u2). Biases start at 0. */

typedef struct mb_model_options {
    mb_activation hidden_activation; /* every hidden layer's activation; default RELU
                                        (checked even where no layer uses it) */
    const mb_activation *activations; /* NULL (default), or n_layers - 2 activations, one per
                                         hidden layer, used instead of hidden_activation;
                                         read during mb_model_create only */
    mb_loss loss;                    /* output and cost; default MB_LOSS_CROSS_ENTROPY */
    mb_init init;                    /* default MB_INIT_AUTO */
    uint64_t seed;                   /* initial weights; default 0 */
} mb_model_options;

/* Fills *options with the defaults above. NULL does nothing. */
void mb_model_options_init(mb_model_options *options);

/* Creates a model with n_layers >= 2 layer sizes (each 1 .. 2^31 - 1), initialised from
 * options->seed. options may be NULL for the defaults. On success *model owns the new model
 * (free it with mb_model_free); on failure *model is set to NULL.
 * MB_LOSS_CROSS_ENTROPY needs at least 2 outputs. Sizes whose parameters cannot be
 * allocated give MB_ERR_OUT_OF_MEMORY. */
mb_status mb_model_create(const int64_t *layer_sizes, int64_t n_layers,
                          const mb_model_options *options, mb_model **model);

/* Frees a model. NULL does nothing. */
void mb_model_free(mb_model *model);

typedef struct mb_model_info {
    int64_t n_layers;       /* number of layer sizes, including input and output */
    int64_t n_inputs;       /* layer_sizes[0] = n_features */
    int64_t n_outputs;      /* layer_sizes[n_layers - 1] */
    int64_t n_parameters;   /* length of the flat parameter buffer */
    int64_t epochs_trained; /* epochs completed over the model's life (saved with it);
                               like the training state's other counts (the update rule's
                               steps, the examples seen, the epochs without improvement),
                               it stays at INT64_MAX once there */
    mb_loss loss;
} mb_model_info;

/* A read (see Threads above): MB_ERR_BUSY from another thread while the model trains, whose
 * epochs_trained changes after every epoch (mb_interrupt's counts may be read from there);
 * the progress callback may call it. */
mb_status mb_model_get_info(const mb_model *model, mb_model_info *info);

typedef struct mb_layer_info {
    int64_t n_in;
    int64_t n_out;
    mb_activation activation; /* for the output layer: LINEAR for MSE, SIGMOID for binary
                                 cross-entropy; softmax (CROSS_ENTROPY) and e^z (POISSON)
                                 are reported as LINEAR and applied by the loss */
    int64_t weight_offset;    /* W (n_out, n_in) starts here in the flat parameters */
    int64_t bias_offset;      /* b (n_out) starts here */
} mb_layer_info;

/* Describes layer `layer`, 0 <= layer < n_layers - 1 (layer 0 maps inputs to the first
 * hidden layer). */
mb_status mb_model_layer(const mb_model *model, int64_t layer, mb_layer_info *info);

/* Copies all parameters into out[0..count); count must equal n_parameters. */
mb_status mb_model_get_parameters(const mb_model *model, float *out, int64_t count);

/* Replaces all parameters from params[0..count); count must equal n_parameters and every
 * value must be finite. */
mb_status mb_model_set_parameters(mb_model *model, const float *params, int64_t count);

/* Forgets the training state: the update rule's state and step count, the schedule's
 * (examples seen, the adaptive rate, the plateau schedule's rate, best and counts) and early
 * stopping's (best cost, count, best weights),
 * so that the next training call starts as on a new model. The weights and epochs_trained
 * stay. MB_ERR_BUSY while a training call uses the model. */
mb_status mb_model_reset_training_state(mb_model *model);

/* Sets the parameters to those of the epoch with the best monitored value (the lowest
 * validation cost, or the highest validation score with MB_MONITOR_VALIDATION_SCORE), kept
 * by early stopping (patience > 0) with a validation set and restore_best, and writes that epoch
 * (over the model's life, from 1) to *epoch (may be NULL). A training call that stops early
 * restores them itself; one that runs all its epochs keeps its last weights, so that a next
 * call continues the run: this restores the best on request (scikit-learn's estimators do at
 * the end of fit). MB_ERR_INVALID_ARGUMENT if none were kept; MB_ERR_BUSY during training. */
mb_status mb_model_restore_best_weights(mb_model *model, int64_t *epoch);

/* ---------------------------------------------------------------------------------------
 * Forward only: predict, evaluate; and one gradient
 * ------------------------------------------------------------------------------------- */

typedef enum mb_targets {
    MB_TARGETS_FLOAT32 = 0,     /* y is float (m, n_outputs) */
    MB_TARGETS_CLASS_INDEX = 1  /* y is int32_t (m): class indices, for MB_LOSS_CROSS_ENTROPY,
                                   or 0/1 labels for MB_LOSS_BINARY_CROSS_ENTROPY with one
                                   output */
} mb_targets;

/* The model's outputs for X (m, n_features): out (m, n_outputs) receives probabilities for
 * the cross-entropy losses (softmax rows, sigmoid units), values for MSE and e^z for
 * POISSON. Works in
 * chunks, so memory does not grow with m. A NaN or Inf in X is MB_ERR_INVALID_ARGUMENT. An
 * output that is NaN or Inf (finite X that overflows the weights, as those a diverged
 * training kept can) is MB_ERR_DIVERGED naming its row (the first such row): out is then
 * written only in part. Threads (since 0.12.6): m > 256 rows are predicted in passes of
 * 256 rows shared among at most as many threads as OpenBLAS may use (mb_get_blas_info's
 * threads): the training team kept between calls, as many as it has, else a team of that
 * many (kept for the next call), each pass on one thread with OpenBLAS on one
 * thread, so the values do not depend on the thread count; 256 rows or fewer are one pass,
 * on the calling thread, its products on OpenBLAS's threads. The same holds for every
 * prediction and evaluation below, from memory or from files. */
mb_status mb_predict(const mb_model *model, const float *x, int64_t m, int64_t n_features,
                     float *out);

/* Predicted classes, out (m): the argmax of the softmax for MB_LOSS_CROSS_ENTROPY (lowest
 * index on ties), output >= 0.5 for MB_LOSS_BINARY_CROSS_ENTROPY with one output. Other
 * models get MB_ERR_INVALID_ARGUMENT. */
mb_status mb_predict_classes(const mb_model *model, const float *x, int64_t m,
                             int64_t n_features, int32_t *out);

/* The mean cost over all m examples and, for the cross-entropy losses, the accuracy
 * (fraction of rows whose predicted class matches; for binary cross-entropy, of outputs
 * whose thresholded value matches y >= 0.5). For MSE and POISSON *accuracy is set to NaN.
 * cost or accuracy may be NULL when not wanted. An output that is NaN or Inf is
 * MB_ERR_DIVERGED naming its row, as for mb_predict (it was a cost of Inf or NaN with
 * MB_OK before); finite outputs whose squared error overflows float (MSE, outputs beyond about
 * 1.8e19) give a cost of +Inf. */
mb_status mb_evaluate(const mb_model *model, const float *x, const void *y,
                      mb_targets y_type, int64_t m, int64_t n_features, double *cost,
                      double *accuracy);

/* The cost of the model on one batch (all m rows) and its gradient with respect to every
 * parameter, grad[0..count) in the flat parameter layout (count = n_parameters): exactly
 * what one training step with one thread computes before its update (bit for bit: both
 * take the rows in the same chunks of at most 256), without dropout or label smoothing (a
 * step with mb_train_options.dropout drops units, one with label_smoothing smooths the
 * targets; this never does). Does not change the model. A cost or
 * gradient value that is NaN or Inf, which would make that step diverge, is
 * MB_ERR_DIVERGED and grad is left as it was (it was returned with MB_OK before). */
mb_status mb_gradient(const mb_model *model, const float *x, const void *y,
                      mb_targets y_type, int64_t m, int64_t n_features, double *cost,
                      float *grad, int64_t count);

/* ---------------------------------------------------------------------------------------
 * Training
 * ------------------------------------------------------------------------------------- */

/* What the progress callback is told after every epoch. */
typedef struct mb_progress {
    int64_t epoch;            /* epochs completed in this call, 1 .. epochs */
    int64_t epochs;           /* epochs asked for in this call */
    int64_t epochs_trained;   /* over the model's life, this epoch included */
    int64_t batch_size;       /* the batch size in use (resolved if MB_BATCH_AUTO) */
    int64_t batches;          /* mini-batches in this epoch */
    double epoch_cost;        /* mean cost of this epoch's batches, weighted by size */
    double last_batch_cost;   /* cost of its last batch */
    double learning_rate;     /* the rate this epoch trained with (after the schedule; with
                                 schedule_per_batch, its first batch's) */
    double validation_cost;   /* after this epoch; NaN without a validation set (Inf or NaN
                                 too where the model's outputs overflow on it: recorded,
                                 training goes on) */
    double validation_score;  /* accuracy, or R^2 for MB_LOSS_MSE and MB_LOSS_POISSON; NaN
                                 without one */
} mb_progress;

/* Return 0 to go on, anything else to stop: mb_train then returns MB_ERR_CANCELLED and the
 * model keeps the weights of the epoch just finished. Called on the training thread. It may
 * read the model (predict, evaluate, get parameters, save: e.g. a checkpoint every epoch)
 * but must not free, train or change the model, the history or the dataset in use
 * (MB_ERR_BUSY). */
typedef int (*mb_progress_fn)(const mb_progress *progress, void *user_data);

/* Stopping a training from outside (since 0.3.0): a stop request that any thread, or a
 * signal handler (a SIGINT handler for Ctrl-C), may make while training runs. Give it to
 * mb_train_options.interrupt; the training checks it after every mini-batch's update and
 * returns MB_ERR_CANCELLED with a message that says where it stopped:
 *   - after a batch that is not its epoch's last: the model keeps that batch's weights and
 *     the update rule's state after it (Adam's step count included). That epoch is not
 *     counted in epochs_trained (nor its rows in the schedule's count), and the history has
 *     its batch costs but no epoch cost: a call that resumes from there runs that epoch
 *     again from its first batch, in the same order, so its first batches are trained on
 *     twice (the run is close to, not equal to, an uninterrupted one);
 *   - after an epoch's last batch, or during its validation or progress callback: the epoch
 *     ends as usual (counted, validated, recorded) and training stops after it, with
 *     MB_ERR_CANCELLED unless that epoch ended the call anyway (then MB_OK). Resuming from
 *     there continues the run exactly.
 * Distributed training checks the request after each epoch only (as the progress
 * callback's stop), and any rank's request stops every rank. The request stays set until
 * mb_interrupt_clear: a training started while it is set stops after its first mini-batch.
 * The counts cover every training given this interrupt, and another thread may read them
 * while one runs (a progress display within an epoch). One interrupt may serve several
 * trainings at once; a training holds a reference to it, so mb_interrupt_free during one
 * takes effect when it returns. (The command-line tool's Ctrl-C, Python's KeyboardInterrupt
 * and Swift's TrainingInterrupt are this request.) */
typedef struct mb_interrupt mb_interrupt;

mb_status mb_interrupt_create(mb_interrupt **interrupt);
void mb_interrupt_free(mb_interrupt *interrupt);

/* Asks every training given `interrupt` to stop after its current mini-batch. One atomic
 * store: async-signal-safe, callable from any thread. NULL does nothing. */
void mb_interrupt_request_stop(mb_interrupt *interrupt);

/* Withdraws the request, so that the next training runs normally. NULL does nothing. */
void mb_interrupt_clear(mb_interrupt *interrupt);

/* 1 if a stop has been requested and not cleared, else 0 (NULL: 0). */
int mb_interrupt_is_requested(const mb_interrupt *interrupt);

/* The mini-batches whose update has been applied by trainings given `interrupt`, their
 * rows, and the mini-batches per epoch of the training running (or the last one to run; 0
 * before any has started an epoch). Each pointer may be NULL to skip that count. */
mb_status mb_interrupt_counts(const mb_interrupt *interrupt, int64_t *batches_done,
                              int64_t *examples_done, int64_t *batches_per_epoch);

/* The update rule. g is the gradient of the batch's mean cost (with the l2 term, then
 * clipped, then plus coupled_weight_decay * w: since 0.10.0), rate the epoch's learning rate, t the updates this rule has applied to the
 * model, this one included (from 1); element by element, as PyTorch's torch.optim:
 *   MB_OPTIMIZER_SGD, momentum 0: w -= rate * g                (plain gradient descent)
 *   MB_OPTIMIZER_SGD, momentum mu: b = mu * b + g (b starts at 0);
 *                    w -= rate * b, or with nesterov: w -= rate * (g + mu * b)
 *                    (the rate stays outside b, so a schedule does not rescale it)
 *   MB_OPTIMIZER_RMSPROP: v = rho * v + (1 - rho) * g^2; w -= rate * g / (sqrt(v) + epsilon)
 *                    with centered (since 0.7.0): a = rho * a + (1 - rho) * g, and
 *                    sqrt(max(v - a^2, 0)) in place of sqrt(v) (the max: rounding can take
 *                    v - a^2 below 0 where a gradient barely changes; PyTorch gives NaN);
 *                    with momentum mu > 0 (since 0.7.0): b = mu * b + g / (root + epsilon),
 *                    w -= rate * b (PyTorch's RMSprop(centered=, momentum=); a caller built
 *                    against an older header, whose struct_size ends before
 *                    momentum_decay, keeps plain RMSprop: its momentum was ignored then)
 *   MB_OPTIMIZER_ADAM: m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 - beta2) * g^2;
 *                    w -= (rate / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
 *                    (epsilon added to the bias-corrected root, as the paper's Algorithm 1;
 *                    bias corrections computed in double)
 *   MB_OPTIMIZER_ADAMW: w -= rate * weight_decay * w (decoupled, every parameter), then Adam.
 *   with amsgrad (since 0.6.0; Adam and AdamW): vmax = max(vmax, v) after v's update, and
 *                    sqrt(vmax) in place of sqrt(v) (PyTorch's amsgrad=True)
 *   MB_OPTIMIZER_ADAGRAD (since 0.6.0): s = s + g^2;
 *                    w -= (rate / (1 + (t - 1) * lr_decay)) * g / (sqrt(s) + epsilon), s
 *                    starting at initial_accumulator_value (PyTorch's Adagrad; its default
 *                    epsilon is 1e-10, this one's the shared 1e-8)
 *   MB_OPTIMIZER_ADAMAX (since 0.6.0): m = beta1 * m + (1 - beta1) * g;
 *                    u = max(beta2 * u, |g| + epsilon); w -= (rate / (1 - beta1^t)) * m / u
 *                    (PyTorch's Adamax; bias correction computed in double)
 *   MB_OPTIMIZER_NADAM (since 0.7.0; with decoupled_weight_decay, since 0.10.0,
 *                    w -= rate * weight_decay * w first, as AdamW's): Adam's m and v;
 *                    mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)), P_t = mu_1 * ... *
 *                    mu_t; d = sqrt(v) / sqrt(1 - beta2^t) + epsilon;
 *                    w -= rate * (1 - mu_t) / (1 - P_t) * g / d, then
 *                    w -= rate * mu_(t+1) / (1 - P_t * mu_(t+1)) * m / d (PyTorch's NAdam;
 *                    coefficients in double, P_t a function of t, beta1 and momentum_decay
 *                    alone: the product factor after factor until a factor equals beta1,
 *                    then times beta1^(the factors left), or until it falls below the
 *                    smallest normal double, then 0; PyTorch keeps it in float as it goes,
 *                    so they agree to float's rounding)
 *   MB_OPTIMIZER_RADAM (since 0.7.0; decoupled_weight_decay as NAdam's): Adam's m and v; rho_inf = 2 / (1 - beta2) - 1,
 *                    rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t); when rho_t > 5:
 *                    w -= rate * r_t * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon),
 *                    r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
 *                    else w -= rate / (1 - beta1^t) * m (PyTorch's RAdam: epsilon on the
 *                    uncorrected root; the first 5 or so steps are momentum's)
 *   MB_OPTIMIZER_ADADELTA (since 0.11.0): v = rho * v + (1 - rho) * g^2;
 *                    d = sqrt(u + epsilon) / sqrt(v + epsilon) * g;
 *                    u = rho * u + (1 - rho) * d^2 (from the old u); w -= rate * d
 *                    (PyTorch's Adadelta; rho in [0, 1], epsilon > 0. PyTorch's defaults
 *                    are rho 0.9, epsilon 1e-6 and a learning rate of 1, where
 *                    mb_train_options_init gives RMSprop's rho 0.99, every rule's epsilon
 *                    1e-8 and learning_rate 0.01: set them)
 * The state (b, v, s, or m and v or u, a and b for RMSprop's options, v and u for
 * Adadelta's, and t) stays with the
 * model between training calls and is saved in its model file; a call with another rule,
 * or with RMSprop's centered or momentum (zero or not) changed, or with
 * mb_train_options.cycle_momentum turned on or off for plain SGD or RMSprop (which it gives
 * a momentum), starts from fresh state
 * (mb_model_reset_training_state starts afresh on purpose). A library older than 0.6.0
 * refuses MB_OPTIMIZER_ADAGRAD and MB_OPTIMIZER_ADAMAX, ignores amsgrad (it trains plain
 * Adam: check mb_version_number() >= 600), and cannot load a model file with the state of
 * any of the three. A library older than 0.7.0 refuses MB_OPTIMIZER_NADAM and
 * MB_OPTIMIZER_RADAM, ignores RMSprop's momentum and centered (check
 * mb_version_number() >= 700), and cannot load a model file with the state of any of the
 * new rules; one older than 0.11.0 refuses MB_OPTIMIZER_ADADELTA (check
 * mb_version_number() >= 1100) and cannot load a file with its state. */
typedef enum mb_optimizer {
    MB_OPTIMIZER_SGD = 0,
    MB_OPTIMIZER_RMSPROP = 1,
    MB_OPTIMIZER_ADAM = 2,
    MB_OPTIMIZER_ADAMW = 3,
    MB_OPTIMIZER_ADAGRAD = 4,
    MB_OPTIMIZER_ADAMAX = 5,
    MB_OPTIMIZER_NADAM = 6,
    MB_OPTIMIZER_RADAM = 7,
    MB_OPTIMIZER_ADADELTA = 8
} mb_optimizer;

/* The learning rate of each epoch from learning_rate, e the epoch counted over the model's
 * life from 0 (its epochs_trained when the epoch starts: a second call, or a resumed
 * file, continues the schedule). Computed in double, rounded to float once. */
typedef enum mb_schedule {
    MB_SCHEDULE_CONSTANT = 0,     /* learning_rate */
    MB_SCHEDULE_STEP = 1,         /* learning_rate * gamma^floor(e / step_epochs) (StepLR) */
    MB_SCHEDULE_EXPONENTIAL = 2,  /* learning_rate * gamma^e (ExponentialLR) */
    MB_SCHEDULE_INVERSE_TIME = 3, /* learning_rate / (t + 1)^power_t, t the examples trained
                                     on before the epoch (scikit-learn's invscaling) */
    MB_SCHEDULE_COSINE = 4,       /* min + (learning_rate - min) * (1 + cos(pi e / T)) / 2 for
                                     e < T, then min; T = cosine_epochs, min =
                                     min_learning_rate (CosineAnnealingLR, no restarts) */
    MB_SCHEDULE_ADAPTIVE = 5,     /* scikit-learn's adaptive: when the monitored value has
                                     not improved by min_delta for `patience` epochs, the rate
                                     is divided by 5; training stops when that would happen at
                                     a rate of 1e-6 or less (its own rate, before any
                                     warm-up). Needs patience >= 1 */
    MB_SCHEDULE_MULTI_STEP = 6,   /* since 0.7.0: learning_rate * gamma^k, k the entries of
                                     milestones that are <= e (each counted as often as it
                                     is given; any order) (MultiStepLR); none: learning_rate */
    MB_SCHEDULE_COSINE_RESTARTS = 7, /* since 0.7.0: min + (learning_rate - min) * (1 +
                                     cos(pi c / T)) / 2, the epochs cut into cycles of T0,
                                     T0 * r, T0 * r^2, ... epochs (T0 = cosine_epochs >= 1,
                                     r = restart_multiplier), T e's cycle's length and c the
                                     epochs since it began; min = min_learning_rate
                                     (CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)) */
    MB_SCHEDULE_ONE_CYCLE = 8,    /* since 0.9.0: the one-cycle policy, PyTorch's
                                     OneCycleLR(max_lr = learning_rate, total_steps = N,
                                     pct_start, div_factor, final_div_factor) with its
                                     two phases and 'cos' annealing (since 0.10.0
                                     three_phase and anneal_strategy offer PyTorch's
                                     others) and by default
                                     cycle_momentum=False (the momentum and beta1 stay as
                                     given; since 0.10.0 mb_train_options.cycle_momentum
                                     cycles them). Steps s = e
                                     of N = T epochs (T = cosine_epochs; 0: as cosine's),
                                     or with schedule_per_batch s = e B + b of N = T B (B
                                     the epoch's batches). From a0 = learning_rate /
                                     div_factor at step 0 the rate rises to learning_rate
                                     at step s1 = pct_start N - 1, then falls to a0 /
                                     final_div_factor at step N - 1, and stays there;
                                     within a phase from a to b at fraction p of it,
                                     b + (a - b) (1 + cos(pi p)) / 2; a phase of length 0
                                     or less is at its end (PyTorch raises there): with
                                     pct_start N < 1 step 0 is already falling, with
                                     pct_start 1 step N - 1 is the peak and later steps
                                     the last rate */
    MB_SCHEDULE_PLATEAU = 9,      /* since 0.11.0: PyTorch's ReduceLROnPlateau(factor =
                                     gamma (0: 0.1), patience = plateau_patience,
                                     threshold = plateau_threshold, threshold_mode =
                                     plateau_threshold_mode, cooldown = plateau_cooldown,
                                     min_lr = min_learning_rate, eps = plateau_eps), its mode
                                     'min' for a cost and 'max' for the validation score
                                     (`monitor`), stepped after every epoch with the
                                     monitored value v (the validation cost, else the
                                     epoch cost; or the validation score). v is better than
                                     the best b when v < b (1 - threshold) (MB_THRESHOLD_REL;
                                     a score: v > b (1 + threshold)) or v < b - threshold
                                     (MB_THRESHOLD_ABS; a score: v > b + threshold); then b
                                     = v and the count of bad epochs is 0, else the count
                                     grows by 1 (a NaN is never better; b starts at +inf for a
                                     cost, -inf for a score, so the first finite value is
                                     better, but with MB_THRESHOLD_REL and a threshold of 1 or
                                     more on a cost, as in PyTorch, none ever is). While a
                                     cooldown runs (its count
                                     above 0) it falls by 1 and the bad count is set to 0.
                                     When the bad count exceeds plateau_patience, the rate
                                     r (learning_rate at first) becomes r' = max(r gamma,
                                     min_learning_rate) if r - r' > plateau_eps (in
                                     double), the cooldown count becomes plateau_cooldown
                                     and the bad count 0. The rate, kept in double and
                                     rounded to float for each epoch, the best and the
                                     counts stay with the model (in its file), so a later
                                     call or a resumed file continues (once the rate has
                                     been reduced, a later call's learning_rate is not
                                     used: mb_model_reset_training_state forgets it); a call
                                     that monitors another value starts the best and the
                                     counts afresh (not the rate). Early stopping (patience)
                                     counts by its own rule beside it, and may stop the
                                     run; a warm-up multiplies this rate (min_learning_rate
                                     floors the rate before the warm-up's factor). Changes
                                     between epochs only */
    MB_SCHEDULE_CYCLIC = 10       /* since 0.11.0: PyTorch's CyclicLR(base_lr =
                                     min_learning_rate, max_lr = learning_rate,
                                     step_size_up = cyclic_step_size_up, step_size_down =
                                     cyclic_step_size_down (-1: as up), mode = cyclic_mode,
                                     gamma = gamma (0: 1), cycle_momentum, base_momentum,
                                     max_momentum) (Smith, 2017). Steps s are epochs (s = e),
                                     or with schedule_per_batch mini-batches (s = e B + b,
                                     as one-cycle's). With U = up, D = down, in double and
                                     PyTorch's order: c = floor(1 + s / (U + D)), x = 1 + s /
                                     (U + D) - c, r = U / (U + D), f = x / r if x <= r else
                                     (x - 1) / (r - 1); rate = base + (max - base) f k,
                                     k = 1 (MB_CYCLIC_TRIANGULAR), 1 / 2^(c - 1)
                                     (MB_CYCLIC_TRIANGULAR2), gamma^s (MB_CYCLIC_EXP_RANGE).
                                     With cycle_momentum the momentum or beta1 is
                                     max_momentum - (max_momentum - base_momentum) f k, on
                                     the rules one-cycle's cycle takes (the same refusals;
                                     PyTorch's CyclicLR defaults are base_momentum 0.8 and
                                     max_momentum 0.9, where mb_train_options_init gives
                                     one-cycle's 0.85 and 0.95: set them). A function of s
                                     alone: nothing is kept in the model but its epochs */
} mb_schedule;

/* How MB_SCHEDULE_CYCLIC scales each cycle's height (mb_train_options.cyclic_mode; since
 * 0.11.0; PyTorch's CyclicLR mode). */
typedef enum mb_cyclic_mode {
    MB_CYCLIC_TRIANGULAR = 0,  /* 1 ('triangular', the default) */
    MB_CYCLIC_TRIANGULAR2 = 1, /* halved every cycle ('triangular2') */
    MB_CYCLIC_EXP_RANGE = 2    /* gamma^s at step s ('exp_range') */
} mb_cyclic_mode;

/* Subnormal (denormal) floats in training's arithmetic (mb_train_options.denormals; since
 * 0.12.0; TensorFlow's threads flush them, PyTorch's torch.set_flush_denormal(True) does).
 * With MB_DENORMALS_FLUSH the threads that run a training call's mini-batches (the calling
 * thread included) set x86-64's flush-to-zero and denormals-are-zero bits (MXCSR) while they
 * work on a batch, and put back their own setting after: the forward and backward products,
 * the activations and the update rule then read and produce 0 for any value below 2^-126
 * (about 1.2e-38). The rest of the call (between batches, the progress callback, validation)
 * and the rest of the process keep their own setting. A rule's state that decays with a
 * gradient of exactly 0 (a dead ReLU unit's momentum buffer, Adam's moments) reaches 0
 * instead of staying at a few subnormal steps forever, where Intel's cores take a microcode
 * assist of about a hundred cycles for every subnormal operand or result: on a Xeon
 * (Emerald Rapids, 2 threads), W1 at batch 64 took 2.3 (momentum) and 3.9 (Adam) times as
 * long with them kept (the README's "Subnormal numbers"); AMD's Zen cores handle them at
 * full speed. While flushing, rows' weights (sample_weight, times class_weight) of which a
 * positive one is below 2^-126 are all multiplied by the power of two that brings it into
 * the normal range (exact; a batch's cost and gradient depend on their ratios only, and the
 * l2 term keeps the caller's sum(w) as its divisor: the same training; m floats for the
 * call), and weights spanning more than float's normal range are MB_ERR_INVALID_ARGUMENT.
 * Other architectures than x86-64 keep subnormals either way, and scale nothing. */
typedef enum mb_denormals {
    MB_DENORMALS_FLUSH = 0, /* flushed to zero while the batches run (the default) */
    MB_DENORMALS_KEEP = 1   /* IEEE arithmetic's subnormals kept (PyTorch's default) */
} mb_denormals;

/* How MB_SCHEDULE_PLATEAU measures an improvement (mb_train_options.plateau_threshold_mode;
 * since 0.11.0; PyTorch's ReduceLROnPlateau threshold_mode). */
typedef enum mb_threshold_mode {
    MB_THRESHOLD_REL = 0, /* relative: better than b (1 - threshold), a score b (1 + threshold)
                             ('rel', the default) */
    MB_THRESHOLD_ABS = 1  /* absolute: better than b - threshold, a score b + threshold ('abs') */
} mb_threshold_mode;

/* How MB_SCHEDULE_ONE_CYCLE anneals within a phase (mb_train_options.anneal_strategy;
 * since 0.10.0; PyTorch's OneCycleLR anneal_strategy). */
typedef enum mb_anneal_strategy {
    MB_ANNEAL_COS = 0,    /* b + (a - b) (1 + cos(pi p)) / 2 ('cos', the default) */
    MB_ANNEAL_LINEAR = 1  /* a + (b - a) p ('linear') */
} mb_anneal_strategy;

/* What early stopping, MB_SCHEDULE_ADAPTIVE and MB_SCHEDULE_PLATEAU watch
 * (mb_train_options.monitor; since 0.4.0). */
typedef enum mb_monitor {
    MB_MONITOR_COST = 0,             /* the validation cost with a validation set, else the
                                        epoch cost: lower is better */
    MB_MONITOR_VALIDATION_SCORE = 1  /* the validation score (accuracy; R^2 for MSE and
                                        POISSON): higher is better, as scikit-learn's MLP with
                                        early_stopping and Keras's monitor='val_accuracy'.
                                        Needs a validation set (MB_ERR_INVALID_ARGUMENT) */
} mb_monitor;

/* ---------------------------------------------------------------------------------------
 * Distributed training: data parallelism over processes (ranks), on any transport
 *
 * The library links no transport: training takes a communicator, a rank, the number of
 * ranks and three collectives with user data. libminibatch_mpi (include/minibatch_mpi.h)
 * makes one over an MPI communicator; Python's minibatch_gd.mpi over mpi4py; Swift's
 * MiniBatchMPI. Every rank runs the same training call (same options, same model, same
 * data: each rank gives the whole data set, in memory or as the same files, and reads only
 * its own rows of each mini-batch).
 *
 * The layout. Every rank draws the same permutation of the same m rows and the same
 * partition. A mini-batch of r rows is cut into n shards,
 * n = max(1, min(S, r / 4, r * (n_parameters + n_inputs) / (32768 + 3 * n_parameters)))
 * (the rule of one process's threads, with S = mb_train_options.shards; r / 64 instead of
 * r / 4 for a first layer of 2^18 weights or more), shard s holding the batch's rows
 * [s*r/n, (s+1)*r/n). Rank k computes the gradients of shards [k*n/R, (k+1)*n/R) (R ranks;
 * a rank may have none, and still joins the collectives), on its own threads.
 *
 * The modes (mb_distributed_mode):
 *   MB_DISTRIBUTED_DETERMINISTIC: every shard's gradient and cost reach every rank (one
 *     allgather per mini-batch), and every rank sums them in shard order, as one process
 *     does: weights, training state and history are bit-identical to one process training
 *     with the same S (mb_train_options.shards, or threads = S) and no communicator,
 *     whatever R and the threads of each rank. Exception: plain SGD with a first layer of
 *     2^18 weights or more, where one process updates that layer's weights in a fused way
 *     that differs by rounding. Cost: each rank receives ceil(n/R) * R * n_parameters
 *     floats per mini-batch (S gradients), and holds them.
 *   MB_DISTRIBUTED_FAST: each rank sums its own shards, and one allreduce (of the gradient,
 *     the cost and a status) adds up the ranks' sums: each rank sends and receives about
 *     2 * n_parameters floats per mini-batch with a ring allreduce. Weights match one
 *     process to rounding (a sum in another order); the costs in the history are summed
 *     in float (relative error about 1e-7). The allreduce must give every rank the same
 *     sum (MPI's does); the weights are compared across ranks after every epoch and made
 *     rank 0's if they differ.
 *
 * Before the first step the ranks compare their options, sizes, rows, model, parameters
 * and training state: any difference is MB_ERR_INVALID_ARGUMENT on every rank, naming the
 * first field that differs and the ranks. Since 0.12.1 also the layout the first layer's W
 * is trained in: from 2^18 weights it is kept transposed where libxsmm's kernels are
 * AVX-512, so ranks that mix AVX-512 and older CPUs are refused for such a model unless the
 * AVX-512 ranks set LIBXSMM_TARGET=hsw. A rank that fails (bad value, read error, out of
 * memory) makes every rank return its status and message, prefixed "rank k: ", at the next
 * collective (at most one mini-batch later): no rank waits forever for a failed one
 * (since 0.7.0 also for a call refused before training begins, a NULL pointer or an
 * unknown enum, when its options hold a usable communicator; an options struct whose
 * struct_size is refused, or whose communicator is not usable, returns on that rank
 * alone, as does a model or history in use, MB_ERR_BUSY, which may be this rank's own
 * distributed call's; since 0.8.0 a rank that fails before it can make the call calls
 * mb_train_fail). A
 * divergence stops every rank with the same last finite weights; a progress callback that
 * asks to stop on any rank stops every rank after that epoch. The validation set is
 * evaluated by rank 0 and its cost and score sent to every rank (other ranks' validation
 * sets are checked, not evaluated). A communicator callback that fails gives
 * MB_ERR_COMMUNICATION on that rank; what other ranks then do is the transport's (MPI's
 * default is to abort them all).
 *
 * Memory (beyond mb_working_memory's count, which is for one process): a workspace per
 * shard the rank computes; deterministic mode R * ceil(S/R) + ceil(S/R) gradients
 * (n_parameters floats each) for the exchange, fast mode one.
 *
 * File datasets: each rank reads only its own rows of each batch (and all of y, once),
 * with pread in runs of consecutive rows. With MB_FILE_SHUFFLE_BLOCK the order is the block
 * shuffle's, the same as one process's, computed without reading X; each rank then reads
 * its rows as the exact shuffle does, scattered within the epoch's current group of
 * blocks, and holds the epoch's order as the exact shuffle does (8 bytes per row, and y):
 * the block shuffle's bounded memory and long sequential reads are one process's.
 * ------------------------------------------------------------------------------------- */

typedef enum mb_distributed_mode {
    MB_DISTRIBUTED_DETERMINISTIC = 0,
    MB_DISTRIBUTED_FAST = 1,
} mb_distributed_mode;

/* The collectives: each is called by every rank with the same sizes, in the same order, and
 * returns 0 on success (anything else: MB_ERR_COMMUNICATION). Called on the training thread
 * of the calling rank. */
typedef struct mb_communicator {
    size_t struct_size;   /* sizeof(mb_communicator) */
    int rank;             /* this process, 0 .. size - 1 */
    int size;             /* ranks, 1 .. 2^20 */
    void *user_data;      /* passed to the functions */
    /* data[0..count) becomes the element-wise sum over the ranks, the same on every rank
     * (MPI_Allreduce, MPI_FLOAT, MPI_SUM, in place). */
    int (*allreduce_sum)(float *data, int64_t count, void *user_data);
    /* receive[k*bytes .. (k+1)*bytes) becomes rank k's send[0..bytes) (MPI_Allgather). */
    int (*allgather)(const void *send, void *receive, int64_t bytes, void *user_data);
    /* data[0..bytes) becomes root's (MPI_Bcast). */
    int (*broadcast)(void *data, int64_t bytes, int root, void *user_data);
} mb_communicator;

/* For a rank that will not make the training call the other ranks of `communicator` make,
 * because what it prepares for the call failed (data it could not read, arguments it could
 * not build): called in place of that call, it makes the call fail on every rank, with
 * `status` and "rank k: message" (k this rank; the message's first 1,016 bytes, bytes that
 * are not UTF-8 replaced by U+FFFD), as a failure of this rank's setup does, so that no rank
 * waits for this one. Collective: the other ranks must be in, or enter, mb_train or
 * mb_train_dataset with this communicator (call it once per call they make). status: an
 * error status (MB_ERR_INVALID_ARGUMENT ... MB_ERR_COMMUNICATION); message: NUL-terminated,
 * or NULL for "the training call was not made". Returns the status every rank returns (this
 * rank's, or the lowest failing rank's where several failed at once), with its message in
 * mb_last_error(); on this rank alone, MB_ERR_INVALID_ARGUMENT with nothing sent for a NULL
 * or unusable communicator or a status that is not an error, MB_ERR_OUT_OF_MEMORY where
 * the exchange's buffers cannot be allocated, MB_ERR_COMMUNICATION where a collective
 * fails. Since 0.8.0. */
mb_status mb_train_fail(const mb_communicator *communicator, mb_status status, const char *message);

typedef struct mb_train_options {
    size_t struct_size;        /* sizeof(mb_train_options), set by mb_train_options_init.
                                  Fields past struct_size take their defaults, so a caller
                                  built against an older header keeps working; smaller
                                  than the fields up to `threads`, or (since 0.10.0) ending
                                  inside a pointer field (which would leave a pointer
                                  half the caller's): MB_ERR_INVALID_ARGUMENT */
    int64_t epochs;            /* passes over the data; >= 1; default 10 */
    int64_t batch_size;        /* 1 .. m, or MB_BATCH_AUTO (default). 1 is stochastic,
                                  m is batch gradient descent */
    float learning_rate;       /* the base rate of the update rule (see mb_optimizer and
                                  mb_schedule); finite and > 0; default 0.01 */
    uint64_t seed;             /* shuffle order: epoch e visits rows in
                                  mb_permutation(m, seed, e); default 0 */
    int shuffle;               /* nonzero (default): shuffle every epoch; 0: keep row order */
    mb_last_batch last_batch;  /* default MB_LAST_BATCH_KEEP */
    size_t memory_budget;      /* bytes of working memory MB_BATCH_AUTO may use, these
                                  options' own included (see mb_auto_batch_size); 0
                                  (default) and any value from 2^62 up (SIZE_MAX) mean no
                                  limit */
    mb_progress_fn progress;   /* called after every epoch; NULL (default) for none */
    void *user_data;           /* passed to progress */
    int threads;               /* threads that share each mini-batch, 0 .. 256: its rows are
                                  split into that many contiguous shards (at least 4 rows
                                  each, 64 when the first layer has 2^18 or more weights,
                                  and at least 32,768 + 3 x n_parameters of work, rows x
                                  (n_parameters + n_inputs): a smaller shard costs more
                                  than it shares; see "The layout"), each shard's gradient
                                  is computed on its own thread and the gradients are summed
                                  in shard order. 0 (default): as many as the library's OpenBLAS
                                  uses (OPENBLAS_NUM_THREADS, else the CPUs). While training
                                  runs, the library's OpenBLAS runs single-threaded (its
                                  count comes back when the last training call ends; a
                                  thread that saves and restores that count meanwhile, as
                                  threadpoolctl's threadpool_limits does, can put the 1
                                  back after the training ended: set the count again). The same
                                  seed gives bit-identical weights for the same thread count;
                                  other counts differ by rounding, unless `shards` fixes the
                                  layout (then threads only say how many shards run at once) */
    /* The update rule (see mb_optimizer). */
    mb_optimizer optimizer;    /* default MB_OPTIMIZER_SGD */
    float momentum;            /* SGD: [0, 1] (1 since 0.12.6, as scikit-learn's); RMSprop
                                  (since 0.7.0): [0, 1); default 0 (plain
                                  gradient descent; RMSprop without momentum); replaced
                                  step by step by cycle_momentum (since 0.10.0) */
    int nesterov;              /* SGD: 1 for Nesterov momentum (needs momentum > 0), 0
                                  (default); other values: MB_ERR_INVALID_ARGUMENT with
                                  SGD (other rules ignore it) */
    float rho;                 /* RMSprop: [0, 1); default 0.99 (PyTorch's alpha);
                                  Adadelta (since 0.11.0): [0, 1] (PyTorch's 0.9: set it) */
    float beta1;               /* Adam, AdamW, Adamax, NAdam, RAdam: [0, 1); default 0.9;
                                  replaced step by step by cycle_momentum (since 0.10.0) */
    float beta2;               /* Adam, AdamW, Adamax, NAdam, RAdam: [0, 1); default 0.999 */
    float epsilon;             /* every rule but SGD: finite, > 0, and (since 0.12.5)
                                  at least FLT_MIN (1.2e-38) where denormals is
                                  MB_DENORMALS_FLUSH (the default), which reads a
                                  subnormal epsilon as 0;
                                  default 1e-8 (PyTorch's Adadelta: 1e-6) */
    float weight_decay;        /* AdamW, and (since 0.10.0) NAdam and RAdam with
                                  decoupled_weight_decay (the others ignore it): >= 0;
                                  default 0.01 (AdamW's; PyTorch's coupled weight_decay of
                                  the other rules is coupled_weight_decay) */
    float l2;                  /* scikit-learn's alpha, >= 0: a batch of n rows adds
                                  0.5 * l2 * sum(W^2) / n to its cost (the history's costs
                                  include it) and l2 * W / n to the weights' gradient;
                                  biases are not penalised. Default 0 */
    float clip_norm;           /* >= 0: when the norm of the whole gradient (l2 term
                                  included) exceeds it, the gradient is scaled by
                                  clip_norm / (norm + 1e-6) (clip_grad_norm_). 0 (default):
                                  no clipping */
    /* The learning-rate schedule (see mb_schedule). */
    mb_schedule schedule;      /* default MB_SCHEDULE_CONSTANT */
    double gamma;              /* step, exponential and multi-step: > 0; 0 (default) for 0.1
                                  (step, multi-step) or 0.9 (exponential); plateau (since
                                  0.11.0): its factor, in (0, 1), 0 for 0.1; cyclic (since
                                  0.11.0): exp_range's gamma, in (0, 1], 0 for 1 (read
                                  with MB_CYCLIC_EXP_RANGE only) */
    int64_t step_epochs;       /* step: >= 1; default 10 */
    double power_t;            /* inverse time: >= 0; default 0.5 */
    int64_t cosine_epochs;     /* cosine: T >= 0; 0 (default): the model's epochs_trained at
                                  the start of the call plus `epochs` (give the total to
                                  resume a run: a resumed call's default T differs); cosine
                                  with restarts: the first cycle's length T0, >= 1;
                                  one-cycle (since 0.9.0): the cycle's epochs T, as
                                  cosine's */
    double min_learning_rate;  /* cosine, cosine with restarts, plateau (its min_lr): the
                                  floor, >= 0; cyclic: its base_lr, >= 0; default 0 */
    /* Validation and early stopping. The monitored value (see `monitor`) is by default a
     * cost: the validation cost when a validation set is given, else the epoch cost. An
     * epoch improves when its cost is below the best so far (the lowest cost of any epoch,
     * whether or not that epoch counted as an improvement: scikit-learn's rule) minus
     * min_delta (a score: above the best plus min_delta); after `patience` epochs in a row that do not,
     * training stops (MB_OK: the model's epochs_trained and the history say where) or, with
     * MB_SCHEDULE_ADAPTIVE, the rate is divided. The counts and the best value stay with the
     * model (saved in its file), so a later call or a resumed file goes on counting; a call
     * that monitors another value than the last one starts them afresh. */
    int64_t patience;          /* >= 0; 0 (default): no early stopping. scikit-learn's
                                  n_iter_no_change N is patience N + 1 */
    double min_delta;          /* scikit-learn's tol: >= 0; default 0 */
    int restore_best;          /* nonzero (default): with a validation set, a call that stops
                                  early leaves the weights of the epoch with the best
                                  monitored value (a call that runs all its epochs keeps the
                                  last ones, so that a next call continues the run) */
    const float *validation_x; /* (validation_m, n_features); NULL (default): none. Checked
                                  like x (MB_ERR_INVALID_ARGUMENT naming the validation set).
                                  Evaluated after every epoch into the history (cost without
                                  the l2 term, and score) */
    const void *validation_y;  /* as y, of validation_y_type */
    mb_targets validation_y_type;
    int64_t validation_m;      /* rows of the validation set, >= 1 when validation_x is set */
    double validation_fraction;/* [0, 1): hold out this fraction of X's rows as the validation
                                  set (mb_train only; not with validation_x). Seeded by
                                  `seed`, stratified for class-index targets: the rows in
                                  the order of mb_permutation(m, seed, 2^62), class by class,
                                  the first ceil(fraction * rows of the class) of each held
                                  out (float targets: the first max(1, ceil(fraction * m)));
                                  training runs on the others in their order in X. 0 (default):
                                  none */
    const float *sample_weight;/* (m) weights of X's rows, finite and >= 0, not all 0
                                  (mb_train only): a batch's cost is sum(w * loss) / sum(w)
                                  over its rows, and its l2 term is divided by sum(w) instead
                                  of its rows (scikit-learn's sample_weight); a batch whose
                                  rows all weigh 0 adds nothing. Rows validation_fraction
                                  holds out weigh their sample_weight in the validation cost
                                  and score (since 0.7.0; see validation_sample_weight).
                                  NULL (default): every row weighs 1 */
    const struct mb_dataset *validation_dataset; /* a file dataset (mb_dataset_open_npy) as the
                                  validation set, instead of validation_x: read in order
                                  after every epoch (its reader's buffers are made for each
                                  evaluation; nothing per mini-batch). Not beside validation_x
                                  or validation_fraction. NULL (default): none */
    /* Distributed training (see mb_communicator); since 0.2.0. A library older than the
     * header ignores the fields it does not know (see struct_size): a program that must not
     * train alone by mistake checks mb_version_number() >= 200 first. */
    int64_t shards;            /* the layout: at most this many shards per mini-batch, 0 ..
                                  65536. The result depends on shards, never on threads:
                                  with shards S, threads only says how many of a rank's
                                  shards run at once. 0 (default): threads (its resolved
                                  value) times the ranks; the ranks must agree */
    const mb_communicator *communicator; /* NULL (default): this process alone */
    mb_distributed_mode distributed_mode; /* default MB_DISTRIBUTED_DETERMINISTIC */
    /* Since 0.3.0 (a library older than the header ignores it: check
     * mb_version_number() >= 300). */
    mb_interrupt *interrupt;   /* a stop request checked after every mini-batch (see
                                  mb_interrupt); NULL (default): none */
    /* Since 0.4.0 (a library older than the header ignores it: check
     * mb_version_number() >= 400). */
    mb_monitor monitor;        /* what early stopping, MB_SCHEDULE_ADAPTIVE and
                                  MB_SCHEDULE_PLATEAU watch; default
                                  MB_MONITOR_COST */
    /* Since 0.5.0 (a library older than the header ignores it: check
     * mb_version_number() >= 500). */
    double dropout;            /* inverted dropout of every hidden layer's output while
                                  training, [0, 1) (PyTorch's nn.Dropout(p) after each
                                  hidden layer, Keras's Dropout): in each mini-batch, each
                                  unit of each row is zeroed with this probability and the
                                  others are multiplied by s = (float)(1 / (1 - dropout)),
                                  in double then rounded; the layer above reads that, and
                                  backward multiplies the gradient by the same mask. The
                                  epoch and batch costs are those of the dropped network
                                  (as PyTorch's training loss); predictions, mb_evaluate,
                                  mb_gradient and the validation set use the whole network.
                                  Which units drop depends only on seed, the epoch e (the
                                  model's epochs_trained when it starts), the batch b (from
                                  0 within the epoch), the hidden layer l (from 0), the row's
                                  position r in its mini-batch and the unit j of the layer's
                                  n units, never on threads, shards or ranks:
                                    k = mix(mix(mix(mix(seed) ^ (2^63 | e)) ^ b) ^ l);
                                    dropped when mix(k ^ (r * n + j)) >> 40 < round(dropout
                                    * 2^24) (C's round: halves away from zero)
                                  (mix(v): SplitMix64's output from state v, as in
                                  mb_permutation). A model without a hidden layer:
                                  MB_ERR_INVALID_ARGUMENT. Working memory: 2 floats per
                                  hidden unit per row a pass takes, per shard. An epoch
                                  interrupted and run again draws the same masks. Default 0:
                                  none */
    const float *class_weight; /* (class_weight_count) weights of the classes (mb_train only,
                                  arrays in memory, as sample_weight; since 0.5.0): row r
                                  weighs class_weight[y_r], times sample_weight[r] when
                                  given (the product in float), and a batch's cost is
                                  sum(w * loss) / sum(w): PyTorch's
                                  CrossEntropyLoss(weight=...), scikit-learn's
                                  class_weight. Needs class-index targets
                                  (MB_TARGETS_CLASS_INDEX) with MB_LOSS_CROSS_ENTROPY
                                  (class_weight_count = n_outputs) or
                                  MB_LOSS_BINARY_CROSS_ENTROPY with one output (2: labels 0
                                  and 1); each finite and >= 0, not every row's weight 0.
                                  The validation cost and score are not weighted by it
                                  (validation_sample_weight and the rows validation_fraction
                                  holds out weigh their sample_weight only). Memory: m floats for
                                  the call (the rows' weights). NULL (default): none */
    int64_t class_weight_count; /* the entries of class_weight; 0 with NULL (default) */
    double label_smoothing;    /* [0, 1), since 0.5.0: training's targets become
                                  (1 - e) t + e / n_outputs for MB_LOSS_CROSS_ENTROPY
                                  (PyTorch's CrossEntropyLoss(label_smoothing=e), class
                                  indices or float rows) and (1 - e) t + e / 2 for
                                  MB_LOSS_BINARY_CROSS_ENTROPY (Keras's); other losses:
                                  MB_ERR_INVALID_ARGUMENT. The history's epoch and batch
                                  costs are the smoothed loss; the validation cost,
                                  mb_evaluate and mb_gradient the model's own. With
                                  class_weight each row's smoothed loss weighs its class's
                                  weight (PyTorch instead weighs each smoothing term by its
                                  own class). Takes the loss's plain loop, not the C
                                  softmax kernel. Early stopping without a validation set
                                  watches the epoch cost, now smoothed: a best cost kept from
                                  an earlier call without smoothing (or with another value)
                                  is compared with it as it is (as with another l2); give a
                                  validation set, or mb_model_reset_training_state, when
                                  changing it. Default 0: none */
    int amsgrad;               /* since 0.6.0, MB_OPTIMIZER_ADAM and MB_OPTIMIZER_ADAMW (the
                                  others ignore it): nonzero for AMSGrad, the denominator's v
                                  replaced by its running maximum vmax = max(vmax, v)
                                  (PyTorch's amsgrad=True), a third float of state per
                                  parameter; its state is another rule's to a call without
                                  it. A library older than the header ignores it: check
                                  mb_version_number() >= 600. Default 0 */
    /* Since 0.6.0 (a library older than the header ignores them: check mb_version_number()
     * >= 600): a linear warm-up of the schedule's rate over the model's first epochs,
     * PyTorch's LinearLR(start_factor, total_iters=warmup_epochs) chained before the
     * schedule. Epoch e's rate (e over the model's life, as mb_schedule's) is the schedule's
     * times  warmup_start_factor + (1 - warmup_start_factor) * min(e, W) / W,  W =
     * warmup_epochs, in double, rounded to float once (mb_history_learning_rates has it).
     * MB_SCHEDULE_ADAPTIVE and MB_SCHEDULE_PLATEAU reduce their own rate, not the warmed-up
     * one. The model file does
     * not keep the warm-up (as the schedule's parameters): pass it again to resume. */
    int64_t warmup_epochs;     /* W >= 0; default 0: no warm-up */
    double warmup_start_factor;/* the factor at e = 0, in (0, 1]; default 1/3 (PyTorch's) */
    float clip_value;          /* since 0.6.0 (an older library ignores it: check
                                  mb_version_number() >= 600): >= 0, finite: every element
                                  of the gradient clipped to [-clip_value, clip_value]
                                  (PyTorch's clip_grad_value_, Keras's clipvalue), after
                                  the l2 term and clip_norm's scaling (clip_norm measures
                                  the unclipped gradient). Without clip_norm an infinite
                                  element becomes the bound; with it, its norm is not
                                  finite and training stops as MB_ERR_DIVERGED. A NaN stays
                                  NaN. 0 (default): no clipping */
    /* Since 0.6.0, MB_OPTIMIZER_ADAGRAD only (which an older library refuses), PyTorch's
     * Adagrad parameters: */
    float lr_decay;            /* >= 0: step t uses rate / (1 + (t - 1) * lr_decay), in
                                  double; default 0 */
    float initial_accumulator_value; /* >= 0: s's value when the rule's state starts
                                  afresh (a new model, another rule before, or
                                  mb_model_reset_training_state; Keras's default is 0.1);
                                  a call that continues Adagrad's state ignores it. Default
                                  0 */
    /* Since 0.7.0 (a library older than the header ignores them: check mb_version_number()
     * >= 700). */
    double momentum_decay;     /* MB_OPTIMIZER_NADAM: psi in mu_t, finite, >= 0; default
                                  0.004 (PyTorch's) */
    int centered;              /* MB_OPTIMIZER_RMSPROP: 0 (default) or 1, centred RMSprop (a
                                  second float of state per parameter; momentum adds one
                                  more) */
    const int64_t *milestones; /* MB_SCHEDULE_MULTI_STEP: (milestone_count) epochs, each
                                  >= 0, read during the call only; NULL (default) */
    int64_t milestone_count;   /* 0 .. 2^20 entries; 0 with NULL (default) */
    int64_t restart_multiplier;/* MB_SCHEDULE_COSINE_RESTARTS: r >= 1; default 1 (every
                                  cycle T0 epochs) */
    const float *validation_sample_weight; /* since 0.7.0: (validation_m) weights of
                                  validation_x's rows, finite and >= 0, not all 0 (with
                                  validation_x only): the validation cost and score become
                                  weighted means, sum(w * loss) / sum(w), sum(w * correct) /
                                  sum(w), and R^2 with every square weighted about the
                                  weighted mean (scikit-learn's r2_score and accuracy_score
                                  with sample_weight, as its MLP's early stopping scores
                                  since 1.9). Rows held out by validation_fraction keep their
                                  sample_weight the same way (unless every one weighs 0).
                                  NULL (default): every validation row weighs 1 */
    /* Since 0.9.0 (a library older than the header ignores it: check mb_version_number()
     * >= 900). */
    int schedule_per_batch;    /* 0 (default): the schedule and the warm-up give one rate an
                                  epoch; 1: a rate for every mini-batch (other values:
                                  MB_ERR_INVALID_ARGUMENT), at the fractional
                                  epoch x = e + b / B (batch b of the epoch's B, from 0), x
                                  in place of e in mb_schedule's formulas and the warm-up's
                                  (MB_SCHEDULE_INVERSE_TIME: t the examples trained on
                                  before the batch; MB_SCHEDULE_ONE_CYCLE: step s = e B + b
                                  of N = T B, OneCycleLR(total_steps = T B);
                                  MB_SCHEDULE_CYCLIC: step s = e B + b), computed in
                                  double, rounded to float once: the exponential,
                                  inverse-time, cosine, cosine-with-restarts, one-cycle and
                                  cyclic rates and the warm-up move at every step, as PyTorch's schedulers stepped every iteration
                                  (CosineAnnealingLR with T_max = T * B, LinearLR with
                                  total_iters = W * B, ExponentialLR with gamma^(1 / B),
                                  CosineAnnealingWarmRestarts.step(e + b / B)); step's,
                                  multi-step's (integer milestones), adaptive's and
                                  plateau's own rates change between epochs only, as before (a warm-up
                                  still moves theirs). The model file does not keep it
                                  (as the schedule's parameters): pass it again to
                                  resume. Batch 0's rate is the
                                  once-an-epoch rate, which mb_history_learning_rates and
                                  the progress report keep (for MB_SCHEDULE_ONE_CYCLE and
                                  MB_SCHEDULE_CYCLIC, whose steps are then batches, step
                                  e B's) */
    double pct_start;          /* MB_SCHEDULE_ONE_CYCLE (since 0.9.0): the rising phase's
                                  share of the steps, [0, 1]; default 0.3 */
    double div_factor;         /* MB_SCHEDULE_ONE_CYCLE: the first rate is learning_rate /
                                  div_factor; finite, > 0; default 25 */
    double final_div_factor;   /* MB_SCHEDULE_ONE_CYCLE: the last rate is the first /
                                  final_div_factor; finite, > 0; default 1e4 */
    /* Since 0.10.0 (a library older than the header ignores them: check
     * mb_version_number() >= 1000). */
    int cycle_momentum;        /* MB_SCHEDULE_ONE_CYCLE (and since 0.11.0
                                  MB_SCHEDULE_CYCLIC, its formula there): 0 (default;
                                  PyTorch's default is cycle_momentum=True) or 1 (other values:
                                  MB_ERR_INVALID_ARGUMENT with any schedule; other schedules
                                  ignore 1): the
                                  momentum moves against the rate, PyTorch's OneCycleLR
                                  with cycle_momentum=True: max_momentum at step 0,
                                  base_momentum at the rate's peak (step s1), max_momentum
                                  again at step N - 1 and after, with the rate's phases and
                                  annealing (three_phase: down, up, then held at
                                  max_momentum), computed in double and rounded to float
                                  once a step. It replaces SGD's and RMSprop's momentum (plain
                                  SGD and RMSprop become their momentum forms, as PyTorch's:
                                  nesterov as given; the model keeps the momentum buffer) and
                                  beta1 of Adam, AdamW (AMSGrad too), Adamax and RAdam (their
                                  bias correction 1 - beta1^t with the step's beta1, as
                                  PyTorch's); the momentum or beta1 given is not used (but
                                  still checked, and compared across distributed ranks).
                                  Turning it on or off with plain SGD or RMSprop changes
                                  the rule's kind: the next call starts fresh state.
                                  MB_OPTIMIZER_ADAGRAD and MB_OPTIMIZER_ADADELTA (no
                                  momentum: PyTorch refuses them too) and MB_OPTIMIZER_NADAM
                                  (its product of momenta would depend on every earlier
                                  step's beta1, which the model does not keep) are refused
                                  with 1 */
    double base_momentum;      /* MB_SCHEDULE_ONE_CYCLE and MB_SCHEDULE_CYCLIC with
                                  cycle_momentum: the momentum at the peak rate (cyclic's
                                  triangular2 and exp_range: the trough is max_momentum -
                                  (max_momentum - base_momentum) k, k the cycle's scale); in (0, 1) as
                                  a float (0, which would switch PyTorch's momentum off for
                                  that step, is refused); default 0.85 (PyTorch's CyclicLR:
                                  0.8) */
    double max_momentum;       /* MB_SCHEDULE_ONE_CYCLE and MB_SCHEDULE_CYCLIC with
                                  cycle_momentum: the momentum at the first and last steps
                                  (a cycle's start); in (0, 1) as a float; default 0.95
                                  (PyTorch's CyclicLR: 0.9; below base_momentum is allowed:
                                  the cycle inverts) */
    int three_phase;           /* MB_SCHEDULE_ONE_CYCLE (since 0.10.0): 0 (default) or 1 (other
                                  values: MB_ERR_INVALID_ARGUMENT with any schedule; other
                                  schedules ignore 1), PyTorch's three_phase: three phases,
                                  the rate up from a0 to learning_rate at step s1 = pct_start
                                  N - 1, back down to a0 at s2 = 2 pct_start N - 2, then to
                                  a0 / final_div_factor at N - 1 (the momentum down, back
                                  up, then held); a step belongs to the first phase whose
                                  end is at or after it, the last phase past its end (with
                                  pct_start above about 1/2 the second phase ends after
                                  N - 1 and the third is not reached, as PyTorch's); past
                                  step N - 1 the rate is the last, a0 / final_div_factor */
    mb_anneal_strategy anneal_strategy; /* MB_SCHEDULE_ONE_CYCLE (since 0.10.0): how a
                                  phase moves from a to b at fraction p of it:
                                  MB_ANNEAL_COS (default) or MB_ANNEAL_LINEAR (other
                                  values: MB_ERR_INVALID_ARGUMENT with any schedule) */
    float coupled_weight_decay; /* since 0.10.0: PyTorch's weight_decay of its rules but
                                  AdamW (coupled: an L2 penalty in the gradient), finite,
                                  >= 0, with any rule: the rule sees g + coupled_weight_decay
                                  * w in place of g, on every parameter (biases too), g as
                                  formed above (l2, clip_norm's scaling and clip_value: the
                                  norm and the clipping do not see this term, as PyTorch adds
                                  it inside optimizer.step(), after clip_grad_norm_).
                                  Nothing is added to the cost (unlike l2, scikit-learn's
                                  alpha, divided by the batch's rows, weights only). With
                                  MB_OPTIMIZER_ADAMW, or NAdam and RAdam with
                                  decoupled_weight_decay, their decoupled weight_decay
                                  applies too
                                  (the coupled term from w before the decoupled shrink).
                                  Default 0 (none) */
    int decoupled_weight_decay; /* since 0.10.0, MB_OPTIMIZER_NADAM and MB_OPTIMIZER_RADAM
                                  (other rules ignore it): 0 (default) or 1 (other values:
                                  MB_ERR_INVALID_ARGUMENT with any rule), PyTorch's
                                  decoupled_weight_decay=True (NAdamW, RAdamW): w -= rate *
                                  weight_decay * w before the step, as MB_OPTIMIZER_ADAMW
                                  (weight_decay's default 0.01 is AdamW's; PyTorch's NAdam
                                  and RAdam default to 0: set it) */
    /* Since 0.11.0 (a library older than the header ignores them: check
     * mb_version_number() >= 1100): MB_SCHEDULE_PLATEAU's parameters (its factor is gamma,
     * its min_lr min_learning_rate), checked with that schedule only (but for the
     * threshold mode, an enum, checked with any). */
    int64_t plateau_patience;  /* bad epochs tolerated before a reduction, >= 0; default 10
                                  (PyTorch's; 0: reduce after the first bad epoch) */
    double plateau_threshold;  /* finite, >= 0; default 1e-4 */
    mb_threshold_mode plateau_threshold_mode; /* MB_THRESHOLD_REL (default) or
                                  MB_THRESHOLD_ABS (other values: MB_ERR_INVALID_ARGUMENT
                                  with any schedule) */
    int64_t plateau_cooldown;  /* epochs after a reduction that count no bad epoch, >= 0;
                                  default 0 */
    double plateau_eps;        /* a reduction not larger than this is not made (r - r' must
                                  exceed it), finite, >= 0;
                                  default 1e-8 */
    /* Since 0.11.0: MB_SCHEDULE_CYCLIC's mode and steps (its base_lr is min_learning_rate,
     * its gamma gamma; its momentum cycle cycle_momentum, base_momentum, max_momentum). The
     * struct ends on an 8-byte boundary, with no padding after its last field (a later
     * field never lands in an older caller's padding). */
    mb_cyclic_mode cyclic_mode;   /* default MB_CYCLIC_TRIANGULAR (other values:
                                     MB_ERR_INVALID_ARGUMENT with any schedule) */
    int64_t cyclic_step_size_up;  /* steps of each cycle's rise, >= 1; default 2000
                                     (PyTorch's, in iterations: with schedule_per_batch) */
    int64_t cyclic_step_size_down;/* steps of its fall, >= 0, or -1 (default): as
                                     cyclic_step_size_up (both checked with
                                     MB_SCHEDULE_CYCLIC only) */
    /* Since 0.12.0 (a library older than the header ignores them: check
     * mb_version_number() >= 1200). */
    mb_denormals denormals;       /* MB_DENORMALS_FLUSH (default) or MB_DENORMALS_KEEP (other
                                     values: MB_ERR_INVALID_ARGUMENT); part of a distributed
                                     call's options (every rank must give the same) */
    int32_t reserved;             /* 0 (other values: MB_ERR_INVALID_ARGUMENT): keeps the
                                     struct's end on its last field, for a later release */
} mb_train_options;

/* Fills *options with the defaults above, struct_size included. NULL does nothing. */
void mb_train_options_init(mb_train_options *options);

/* The automatic batch size for training `model` on m examples (the rule of MB_BATCH_AUTO):
 * m < 2000: m (one batch: batch gradient descent); otherwise the largest of 512, 256, 128,
 * 64 whose working memory (mb_working_memory) fits memory_budget (0 or from 2^62 up,
 * SIZE_MAX included: no limit).
 * MB_ERR_INVALID_ARGUMENT if not even 64 fits. This is the rule for plain gradient descent
 * on one thread: mb_train's MB_BATCH_AUTO first takes from memory_budget what its options
 * hold beyond mb_working_memory at each candidate size (the update rule's state, further
 * threads, restore_best's weights, the validation workspace, dropout's masks: the list
 * below), so that the whole fits; its error names them. */
mb_status mb_auto_batch_size(const mb_model *model, int64_t m, size_t memory_budget,
                             int64_t *batch_size);

/* The estimated bytes training `model` with one thread allocates for one batch size: the
 * gathered batch (batch_size * (n_inputs + n_outputs) floats); the activations of every
 * layer (twice for GELU and SiLU hidden layers: their z too) and two gradient buffers of
 * the widest layer, one float per unit for each of the
 * rows forward and backward take at a time (min(batch_size, 256); all batch_size rows when
 * the first layer has 2^18 or more weights, or the model has no hidden layer and at most 4
 * outputs, which train row by row); the
 * gradient of the parameters, the updated parameters and the parameters at the start of
 * the call (3 * n_parameters floats; see mb_train for the last). The permutation
 * (8 bytes per example) is not included: it depends on m. Each further shard a batch is
 * cut into (mb_train_options.threads or shards; see "The layout") adds its own workspace:
 * its gradient (n_parameters floats) and the activations and gradient buffers above for
 * the rows it takes at a time of its shard, or of the last batch's shards when that batch
 * is cut into fewer shards of more rows (since 0.6.0 counted by MB_BATCH_AUTO; 0.5.0
 * counted only the gradient); the gathered batch is shared. The caller's data is not
 * counted, nor is an update rule's state: a rule with s
 * slots per parameter (momentum (plain SGD with cycle_momentum too), RMSprop and Adagrad 1; Adam, AdamW, Adamax, NAdam, RAdam,
 * Adadelta and RMSprop centred or with momentum (or cycle_momentum) 2; AMSGrad and RMSprop centred with momentum (or
 * cycle_momentum) 3) adds 3 * s * n_parameters floats (the state, its next value and the call's starting
 * point), early stopping with restore_best n_parameters (the best weights), dropout 2
 * floats per hidden unit per row
 * forward and backward take at a time, per shard (the dropped outputs and the masks), and a
 * validation set one workspace of min(validation_m, 256) rows (every layer's outputs) and, for validation_fraction, its
 * copy of the held-out rows. mb_train's MB_BATCH_AUTO counts all of these but the copy
 * (data, as the permutation), with the threads or shards the options give. */
mb_status mb_working_memory(const mb_model *model, int64_t batch_size, size_t *bytes);

/* The costs training produces: one per mini-batch, in order, and one per epoch. */
typedef struct mb_history mb_history;

mb_status mb_history_create(mb_history **history);
void mb_history_free(mb_history *history);

/* Removes all recorded costs. */
mb_status mb_history_clear(mb_history *history);

/* Copies the recorded costs into out[0..capacity) and writes how many there are to *count.
 * out may be NULL (capacity 0) to ask for the count only; otherwise capacity must be at
 * least the count. Batch costs are the mean cost of each mini-batch, computed in its forward
 * pass (before that batch's update); epoch costs are the size-weighted mean of an epoch's
 * batch costs. */
mb_status mb_history_batch_costs(const mb_history *history, double *out, int64_t capacity,
                                 int64_t *count);
mb_status mb_history_epoch_costs(const mb_history *history, double *out, int64_t capacity,
                                 int64_t *count);

/* Per epoch, aligned with the epoch costs (same count, same capacity rules): the validation
 * cost after the epoch (NaN for an epoch trained without a validation set), the validation
 * score (accuracy for the cross-entropy losses; R^2 for MB_LOSS_MSE and MB_LOSS_POISSON:
 * each output's 1 - residual sum of squares (of e^z for POISSON) / total sum of squares about
 * its mean, averaged over the outputs (since 0.4.0; the outputs were pooled before), 1 for
 * exact predictions of a constant output and 0 for inexact ones, as scikit-learn's r2_score;
 * with validation weights (validation_sample_weight, or validation_fraction's rows with
 * sample_weight; since 0.7.0) the cost, accuracy and every square weighted, about the
 * weighted mean; NaN without a validation set), and the learning rate the epoch trained
 * with (with schedule_per_batch, its first batch's). */
mb_status mb_history_validation_costs(const mb_history *history, double *out, int64_t capacity,
                                      int64_t *count);
mb_status mb_history_validation_scores(const mb_history *history, double *out,
                                       int64_t capacity, int64_t *count);
mb_status mb_history_learning_rates(const mb_history *history, double *out, int64_t capacity,
                                    int64_t *count);

/* Trains `model` on X (m, n_features) and y (see mb_targets) for options->epochs epochs.
 * Each epoch: draw the epoch's permutation (or keep the order if shuffle is 0), partition
 * it into mini-batches, and for each batch gather its rows, run forward propagation, the
 * cost, back propagation and the update. X and y are only read. Class labels index the
 * model's outputs: they are checked when the call begins and, where a progress callback ran
 * (it may change the caller's arrays), again before the next epoch reads them (since
 * 0.12.3; such a change was read outside the outputs before): a label out of range then
 * returns MB_ERR_INVALID_ARGUMENT naming it (validation_y too), with the model, its
 * epochs_trained and the history as they were before the call. With one batch of all m
 * rows (batch_size = m: batch gradient descent) rows are used in their stored order: a
 * permutation cannot change that gradient except for rounding, and no copy is made.
 * options may be NULL for the defaults. history may be NULL; otherwise every batch cost and
 * epoch cost is appended to it (also for the epochs before a failure).
 * X's values are checked as the first epoch reads them, not in a pass of their own: a NaN
 * or Inf returns MB_ERR_INVALID_ARGUMENT (naming its row and column) with the model, its
 * epochs_trained and the history as they were before the call.
 * Continuing: the model counts its epochs, so two calls of 5 epochs give the same weights
 * as one call of 10 with the same data and options.
 * Returns MB_ERR_DIVERGED if a cost or an updated weight is NaN or Inf: the update that
 * would have produced it is not applied, and after a non-finite cost the update before it
 * is undone (the model keeps the last weights, and update-rule state, that gave a finite
 * cost; a fused first-layer update cannot be undone, see MB_ERR_DIVERGED), the
 * unfinished epoch is not counted in epochs_trained, and the history holds the finite batch
 * costs before it (no epoch cost for the unfinished epoch);
 * MB_ERR_CANCELLED if the progress callback asked to stop (that epoch is complete and
 * counted), or options->interrupt did (see mb_interrupt). */
mb_status mb_train(mb_model *model, const float *x, const void *y, mb_targets y_type,
                   int64_t m, int64_t n_features, const mb_train_options *options,
                   mb_history *history);

/* ---------------------------------------------------------------------------------------
 * Model files
 *
 * Format (version 1, little-endian): "MBMODEL\0"; u32 format version; u32 loss;
 * u64 epochs_trained; u64 n_layers; n_layers u64 layer sizes; n_layers - 2 u32 hidden
 * activations; u64 n_parameters; n_parameters float32; u32 CRC-32 (IEEE 802.3, as zlib's
 * crc32) of every byte before it.
 * ------------------------------------------------------------------------------------- */

/* Writes the model to `path` atomically: a temporary file in the same directory is
 * written, flushed to disk (fsync) and renamed over `path`, so a crash leaves either the
 * old file or the new one, never a part. The temporary file is named `path` plus
 * ".tmp-XXXXXX", its last component shortened where that would pass 255 bytes, so a name
 * of up to 255 bytes can be written (names of 245-255 bytes failed before 0.12.3);
 * mb_predict_npy and mb_shuffle_npy write their outputs the same way; a new file is made
 * as open() makes one: mode 0666 under the process's umask, or the directory's default ACL
 * (since 0.12.5; 0666 less the umask since 0.12.3, whatever a default ACL said; 0644
 * before). Since 0.12.5 a file of the process's user that is replaced keeps its permission
 * bits (a 0600 file stays 0600; it got the new file's mode before; its temporary file is
 * 0600 until then), its group where the process may set it (else the group's bits become
 * the others', and a file with an ACL, whose entries name that group, gets none and the
 * owner's bits alone) and its access ACL, or none where it had none (else, where it cannot
 * be read or set, only the owner's bits); what is replaced is read without following a link, once,
 * when the write starts. Another user's file replaced gives nothing (the new file is the
 * process's, made as a new one: keeping them let the user who made the name in /tmp in
 * advance rewrite root's output). And where `path` is a symbolic link, the file it
 * leads to is replaced (the temporary file is made beside it, so that file's directory
 * must be writable), as open() would write, and the link stays (the rename replaced the
 * link before); MB_ERR_IO, as the kernel refuses to follow them: a chain of more than 40
 * links or a loop, and another user's link in a sticky directory others may write (/tmp;
 * the rule of fs.protected_symlinks, applied whatever that setting says). Other hard links
 * to a file replaced keep its old contents. Paths are UTF-8:
 * since 0.12.3 a path (here and in every function that takes one) that is not valid UTF-8
 * is MB_ERR_INVALID_ARGUMENT (its bytes were replaced by U+FFFD before, naming another
 * file). */
mb_status mb_model_save(const mb_model *model, const char *path);

/* Reads a model written by mb_model_save. A missing or unreadable file is MB_ERR_IO; a
 * truncated, corrupted (checksum) or foreign file is MB_ERR_FORMAT. *model is NULL on
 * failure. */
mb_status mb_model_load(const char *path, mb_model **model);

/* ---------------------------------------------------------------------------------------
 * Datasets in files, larger than memory
 *
 * X and y as numpy .npy files (format versions 1.0, 2.0 and 3.0): X (m, n_features)
 * little-endian float32 in C order (Fortran order too, since 0.12.6, for an array whose
 * bytes are the same in both: at most one dimension above 1); y with m rows: float32 targets (m) or (m, n_outputs),
 * or class labels of shape (m) exactly, of any integer dtype (int8 .. uint64) or bool (any
 * nonzero byte is True, label 1, as numpy reads it). Since 0.10.0 y may also be float64
 * (numpy's default dtype), and integer or bool y are values (m) or (m, n_outputs) rather
 * than labels when the model's loss is MB_LOSS_MSE or MB_LOSS_POISSON (counts), or
 * MB_LOSS_BINARY_CROSS_ENTROPY with a 2-D y (a 0/1 matrix): either is rounded to float32
 * once as it is read (numpy's astype(np.float32); an integer above 2^24 loses its low
 * bits, as in memory). The exact shuffle then trains as on the float32 file, bit for bit;
 * the block shuffle too where the budget does not limit its pools (its pools hold y as
 * stored, so an 8-byte y leaves room for fewer blocks under a small memory_budget). The header is read as numpy reads it
 * (a Python literal dict with exactly 'descr', 'fortran_order' and 'shape'; any spelling
 * numpy.dtype accepts for these types, such as '<f4', 'f4', '=f4', 'float32'; whitespace
 * and comments anywhere; a key given twice takes its last value); a header numpy refuses
 * is MB_ERR_FORMAT, a dtype numpy reads but training does not take (float64 X, any other
 * float width, big-endian, structured) MB_ERR_INVALID_ARGUMENT. A FIFO, directory or device is MB_ERR_IO before
 * anything is read. A file whose size changes while a dataset is open (either way) stops
 * training with MB_ERR_IO (checked as each epoch starts, and by every read). The files are
 * read with pread (X's rows, with the exact shuffle, copied from a mapping of the file:
 * below) into the library's own buffers, by a background thread that prepares the
 * next batches while the current one trains; X is loaded whole only where memory_budget
 * holds it, and in part where it holds some of X (X held in memory, below). Values are checked as they are read, and again as
 * each batch takes them from a held X (NaN/Inf, labels out of range).
 * With more than one training thread (mb_train_options.threads), each training thread puts
 * its own rows of the batch in place, and the thread that called mb_train_dataset prepares
 * each batch's order and targets itself: with every core training, a separate thread could
 * only take time from one of them (a reader woken for every batch preempts a trainer), and
 * the batch waits for its slowest thread.
 *   exact: each training thread copies its rows from a read-only mapping of the X file
 *          (mmap, MADV_RANDOM: a quarter of the cost of a pread per row from the page
 *          cache) where X and y fit in half the memory the process may use (the pages it
 *          copies from count in its resident set, as shared file pages the kernel may
 *          reclaim; a larger file is read with pread, below); there is no background
 *          thread. Once a copy or read has had to wait for
 *          the disk, the kernel is asked to read the rows of the next two batches ahead
 *          (posix_fadvise(POSIX_FADV_WILLNEED)) for the rest of the epoch. With X held,
 *          each copies its rows from it (X held in part: those rows it has). The copies
 *          run under a SIGBUS handler, installed at the first of them in front of the
 *          process's own: a page past the end of a file truncated while mapped raises
 *          SIGBUS, which would end the process; the handler turns it into MB_ERR_IO (the
 *          file changed size) for the copy that raised it, and passes every other SIGBUS
 *          on to the handler that was there before, or ends the process as it would have
 *          without it. Where the file cannot be mapped, or another handler has replaced
 *          this one since, the rows are read with pread (from the page cache without
 *          waiting when they are there: preadv2 with RWF_NOWAIT), to the same results.
 *   block: each training thread copies its rows out of the pool; a pool is not read over
 *          until every batch with rows in it has trained (pools smaller than a batch fall
 *          back to the background thread copying the rows). When the pages are kept
 *          (page_cache), there is no background thread: the training threads read the next
 *          pool themselves, in pieces of about 128 KiB spread evenly over the batches before
 *          it is needed (after the kernel was asked to read it ahead); when they are
 *          released (files larger than memory, read from disk), the background thread reads
 *          the pools ahead. Where the X file is in the page cache whole as training starts,
 *          its pages are kept and the budget holds what the exact shuffle needs (the order
 *          as rows, 8 bytes a row, and the targets; the pools' order, 16 bytes per row of a
 *          pool), there are no pools: the same order is computed as rows of the file, and
 *          each training thread copies its rows as the exact shuffle does, from X's first
 *          rows held as far as the budget allows beside those buffers and from the file's
 *          mapping (same weights and costs as reading the pools, tested).
 *
 * Two shuffles, both seeded, both visiting every row exactly once per epoch:
 *   MB_FILE_SHUFFLE_EXACT  a uniform permutation of all rows: epoch e visits rows in
 *                          mb_permutation(m, seed, e), the order of in-memory training, so
 *                          training from a file gives the same weights and costs as from
 *                          arrays. Rows are read where they lie (fast in the page cache or on
 *                          SSD). Holds the permutation and the targets in memory:
 *                          8 + 4 * n_outputs bytes per row.
 *   MB_FILE_SHUFFLE_BLOCK  rows are grouped into B blocks of r contiguous rows,
 *                          r = min(block_bytes / (4 n_features), ceil(m / 1024)), at least
 *                          one: a pool mixes as many blocks as it holds, so a small file is
 *                          cut finer than block_bytes. Stream (seed, e) shuffles the blocks
 *                          (Fisher-Yates over block indices), then the shuffled blocks are
 *                          taken in groups: the first F, then P at a time. Each group is read
 *                          whole into a pool, sequentially, and its rows are shuffled
 *                          (Fisher-Yates, continuing the same stream). The epoch's order is
 *                          the pools' shuffled rows in turn. Two pools alternate, the next
 *                          read while the current one is consumed: P is the largest number
 *                          of blocks two pools can hold within the budget, at most
 *                          ceil(B / 2) (at least one); F = min(P, max(1, floor(B / 8))), so
 *                          that an epoch's first pool, whose read cannot be hidden, is
 *                          short. Each block is read whole while the kernel is asked
 *                          for the next one in the order (POSIX_FADV_WILLNEED; no other
 *                          readahead: POSIX_FADV_RANDOM). Pages read are released with
 *                          posix_fadvise(POSIX_FADV_DONTNEED) when the files do not fit
 *                          in memory (page_cache, below). Memory does not grow with m
 *                          (beyond 8 bytes per block).
 * Without shuffling (train option shuffle = 0), or with one batch of all m rows, rows come
 * in file order.
 *
 * X held in memory: a shuffled training (more than one batch) reads X whole into memory when
 * it fits memory_budget beside the exact shuffle's buffers,
 *     4 m n_features + 3 batch (4 (n_features + t) + 8) + m (8 + 4 t)
 *       [block shuffle: + 8 B + 16 P r]              (t: 1 for class labels, else n_outputs)
 * (with memory_budget 0, when that fits a quarter of the memory this process may use: the
 * default's 256 MiB cap bounds the buffers of a file read in batches, not X held) and X is at
 * most half the memory this process may use; not in distributed training (each
 * rank reads only its rows). The read is sequential (the kernel is asked for all of X at
 * once: POSIX_FADV_WILLNEED). Batches then gather their rows from that copy as in-memory
 * training does, in the same order as without it: the exact shuffle's permutation, or the
 * block shuffle's order (B, r, F, P as above, from the same budget) computed as rows. The
 * dataset keeps the copy for the next training while X's file is unchanged (its device,
 * inode, size and modification time), and reads it again otherwise. Measured here (2 cores,
 * W1 from a 179 MiB file in the page cache, batch 128 / 256; bench/files.py, both
 * OPENBLAS_CORETYPE settings): an epoch from the held X runs at 0.95 to 1.04 of in-memory
 * speed.
 * X held in part: with the exact shuffle, a budget below that figure holds X's first rows,
 *     min(m, floor((memory_budget - the exact shuffle's buffers above) / (4 n_features)))
 * (with memory_budget 0, of the default's budget, capped at 256 MiB), within half the memory
 * this process may use; the dataset keeps them as it keeps X held. Each batch copies those of
 * its rows from memory and reads the others from the file, in the same order, with the same
 * results. Measured here (as above, memory_budget a third of X, so 32 % of the rows held):
 * exact at 0.78 to 0.89 of in-memory speed (0.66 to 0.73 when every row was read from the
 * file), block at 0.81 to 0.89. The block shuffle with a budget below the figure above reads
 * every batch from the file.
 *
 * memory_budget bounds what the reader holds: three batches of read-ahead, and the exact
 * shuffle's permutation and targets or the block shuffle's pool, and X held (whole or in
 * part). Opening a dataset that
 * cannot fit, or training with a batch size that cannot, is MB_ERR_INVALID_ARGUMENT naming
 * the bytes needed. A dataset holds its open files and header information, and after a
 * block-shuffled training the pools of X that training read into (within memory_budget),
 * which the next block-shuffled training reuses rather than touch new memory, or X held;
 * a training that uses neither, evaluation and prediction free what is kept first, and so
 * does mb_dataset_free. It may be used by several trainings or threads at once.
 * ------------------------------------------------------------------------------------- */

typedef struct mb_dataset mb_dataset;

typedef enum mb_file_shuffle {
    MB_FILE_SHUFFLE_EXACT = 0,
    MB_FILE_SHUFFLE_BLOCK = 1
} mb_file_shuffle;

/* What the block shuffle does with the pages of X and y it has read (the exact shuffle always
 * keeps them: each page holds rows that the epoch reads at other, random times). */
typedef enum mb_page_cache {
    /* RELEASE when X and y together are larger than half the memory this process may use
     * (physical memory, or its control group's limit when lower: cgroup v1
     * memory.limit_in_bytes or v2 memory.max, of its group or any group above), KEEP
     * otherwise. */
    MB_PAGE_CACHE_AUTO = 0,
    /* pages stay in the page cache, so the next epoch reads them from memory */
    MB_PAGE_CACHE_KEEP = 1,
    /* pages are released (posix_fadvise(POSIX_FADV_DONTNEED)) as soon as their block is in
     * the pool: a file much larger than memory does not push everything else out of the
     * page cache, and its pages are not charged to the process's control group */
    MB_PAGE_CACHE_RELEASE = 2
} mb_page_cache;

typedef struct mb_dataset_options {
    mb_file_shuffle shuffle;  /* default MB_FILE_SHUFFLE_EXACT */
    size_t block_bytes;       /* bytes of contiguous rows read at once, 1 .. 2^40; default
                                 1 MiB */
    size_t memory_budget;     /* bytes the reader may hold; 0 (default): a quarter of the
                                 memory this process may use (physical memory or its cgroup
                                 v1/v2 limit), at least 4 MiB, at most 256 MiB (X held in
                                 memory for training: up to that quarter, see above); from
                                 2^62 up (SIZE_MAX) no limit */
    mb_page_cache page_cache; /* block shuffle: default MB_PAGE_CACHE_AUTO */
} mb_dataset_options;

/* Fills *options with the defaults above. NULL does nothing. */
void mb_dataset_options_init(mb_dataset_options *options);

/* Opens X and y .npy files. options may be NULL for the defaults. Errors: a missing or
 * unreadable file is MB_ERR_IO; a bad magic, a malformed or truncated header, a file shorter
 * than its header promises is MB_ERR_FORMAT; an unsupported dtype (named in the message),
 * Fortran order, a wrong number of dimensions (X 2-D; y 1-D or 2-D: since 0.10.0 an integer
 * y of 2 dimensions opens, and is refused as class labels when a cross-entropy model
 * trains on it), X and y with different row counts is MB_ERR_INVALID_ARGUMENT. *dataset is
 * NULL on failure. */
mb_status mb_dataset_open_npy(const char *x_path, const char *y_path,
                              const mb_dataset_options *options, mb_dataset **dataset);

/* Closes the files. NULL does nothing. */
void mb_dataset_free(mb_dataset *dataset);

typedef struct mb_dataset_info {
    int64_t m;            /* rows */
    int64_t n_features;   /* columns of X */
    int64_t y_columns;    /* columns of y (1 for a 1-D y) */
    mb_targets y_type;    /* MB_TARGETS_CLASS_INDEX for an integer or bool y (labels for the
                             cross-entropy losses, values for the others: see above), else
                             FLOAT32 (float32 or float64) */
    int32_t x_version;    /* .npy format major version of each file (1, 2 or 3) */
    int32_t y_version;
} mb_dataset_info;

mb_status mb_dataset_get_info(const mb_dataset *dataset, mb_dataset_info *info);

/* mb_train on a file dataset: the same options, the same history, the same weights as
 * mb_train on the same data in memory with MB_FILE_SHUFFLE_EXACT. A NaN/Inf or a label out
 * of range met while reading stops training with MB_ERR_INVALID_ARGUMENT, a read error or a
 * file that changed size with MB_ERR_IO; in every case before the bad batch is used, so the
 * model keeps the weights of the last batch trained. */
mb_status mb_train_dataset(mb_model *model, const mb_dataset *dataset,
                           const mb_train_options *options, mb_history *history);

/* mb_evaluate over every row of a file dataset, read in order, min(m, 256) rows at a time
 * by the dataset's reader: its memory_budget must hold that reader as it holds one for
 * training with batch_size min(m, 256) (for MB_FILE_SHUFFLE_EXACT, read-ahead and, per row
 * of the file, 8 bytes and its targets); a budget too small is MB_ERR_INVALID_ARGUMENT, its
 * message naming the bytes needed. */
mb_status mb_evaluate_dataset(const mb_model *model, const mb_dataset *dataset, double *cost,
                              double *accuracy);

/* The outputs of mb_predict for every row of a file dataset's X, read in order in chunks
 * within the dataset's memory_budget (as mb_predict_npy reads; y is not read), into out
 * (m, n_outputs): the same values mb_predict gives for the same rows in memory, bit for
 * bit. capacity is the number of floats out holds: at least m * n_outputs (m from
 * mb_dataset_get_info). The dataset's page_cache says whether X's pages are dropped from the
 * page cache as they are read (MB_PAGE_CACHE_AUTO: when X is larger than half the memory
 * this process may use). The dataset may be used by other calls meanwhile.
 * Errors: MB_ERR_INVALID_ARGUMENT for a capacity too small, a dataset whose n_features is not
 * the model's n_inputs, a memory_budget too small for a chunk of min(m, 256) rows (see
 * mb_predict_npy), a NaN or Inf in X (naming its row and column); MB_ERR_IO for a read error
 * or a file that shrank. On an error, out may hold the outputs of the rows before it. */
mb_status mb_predict_dataset(const mb_model *model, const mb_dataset *dataset, float *out,
                             int64_t capacity);

/* mb_predict_classes for every row of a file dataset's X, as mb_predict_dataset: out (m),
 * capacity at least m. A model mb_predict_classes refuses gets MB_ERR_INVALID_ARGUMENT. */
mb_status mb_predict_classes_dataset(const mb_model *model, const mb_dataset *dataset,
                                     int32_t *out, int64_t capacity);

/* Predicts every row of the .npy file x_path, X (m, n_features) as mb_dataset_open_npy
 * reads it (little-endian float32, C order, n_features = the model's n_inputs; no y file),
 * and writes the results to the .npy file out_path (format 1.0, as np.save writes it):
 *   classes == 0: float32 (m, n_outputs), the values mb_predict gives;
 *   classes != 0: int32 (m), the classes mb_predict_classes gives.
 * Bit-identical to predicting the same rows in memory (for m <= 256 rows, with the same
 * OpenBLAS thread count: mb_get_blas_info; a product split among another number of threads
 * may round its last bits differently; more rows, and training, run OpenBLAS on one thread
 * per pass, so they do not depend on it).
 * Memory: X is read in order, a chunk at a time. A chunk is a multiple of 256 rows (or all m
 * rows), at most 16 MiB of X unless 256 rows are more; memory_budget bytes hold the chunk,
 * its outputs and the activations of 256 rows (4 bytes per unit of every layer) for each
 * thread that predicts (since 0.12.6; fewer threads where the budget holds fewer), and must
 * hold a chunk of min(m, 256) rows with one thread's activations. 0: the default of mb_dataset_options.memory_budget (a
 * quarter of the memory this process may use, 4 .. 256 MiB); from 2^62 up (SIZE_MAX): no
 * limit.
 * Files: the output is written sequentially to a temporary file beside out_path
 * (out_path.tmp-XXXXXX), flushed to disk (fsync) and renamed over out_path when complete, as
 * mb_model_save writes: on any error out_path is left as it was and the temporary file is
 * removed. When X is larger than half the memory this process may use, X's pages are
 * dropped from the page cache as they are read, and the output's flushed and dropped every
 * 8 MiB written (a memory cgroup charges page cache to the process).
 * Errors: MB_ERR_INVALID_ARGUMENT for NULL or empty paths, an out_path that is x_path's file
 * (compared by resolved path and by inode), classes with a model mb_predict_classes refuses,
 * an X that is not float32, not 2-D or not n_inputs wide, a memory_budget too small (the
 * message names the bytes needed), a NaN or Inf in X (naming its row and column);
 * MB_ERR_IO for an X that is missing, unreadable, a FIFO, a directory or a device, an
 * out_path that is a directory or whose directory is missing or not writable, a read or
 * write error (a full disk); MB_ERR_FORMAT for a malformed or truncated .npy file. */
mb_status mb_predict_npy(const mb_model *model, const char *x_path, const char *out_path,
                         int classes, size_t memory_budget);

/* ---------------------------------------------------------------------------------------
 * Shuffling .npy files larger than memory
 * ------------------------------------------------------------------------------------- */

/* Writes shuffled copies of the .npy files x_in and y_in to x_out and y_out: row k of x_out
 * and row k of y_out come from the same input row, so pairs stay matched. y_in and y_out
 * are both NULL to shuffle X alone. X and y may each be any .npy file of the kinds
 * mb_dataset_open_npy reads (format 1.0, 2.0 or 3.0, C order, 1-D or 2-D, float32, float64
 * (since 0.10.0), bool or any integer dtype; X need not be float32 here): rows are copied as bytes, and each output
 * keeps its input's dtype and shape (written as format 1.0). X and y must have the same
 * number of rows, m.
 *
 * Method (an external shuffle; reads and writes are sequential but for pass 1's writes,
 * which go to K places of one file in turn):
 *   pass 1 reads X and y in order and puts each row into one of K buckets of a temporary
 *          file;
 *   pass 2 reads the buckets one at a time, shuffles each in memory, appends it to the
 *          outputs.
 * K: with row_bytes the bytes of one row of X plus one row of y, K is the smallest k >= 1
 * with
 *     ceil(m / k) * row_bytes + 16 * k <= memory_budget
 * (the largest bucket, and 16 bytes of bookkeeping per bucket); if no k <= m satisfies it,
 * the budget is too small. The library's buffers stay within memory_budget: pass 2 holds
 * one bucket, pass 1 a chunk of input rows and a buffer for each bucket in the same memory
 * (written out when full; with less than a row per bucket, rows are written one at a time).
 * memory_budget 0: the default of mb_dataset_options.memory_budget (a quarter of the memory
 * this process may use, its cgroup's limit included, 4 .. 256 MiB); from 2^62 up (SIZE_MAX):
 * no limit, so K = 1.
 *
 * The order, from the generator above (any language can reproduce it):
 *   G = stream(seed, 0); every draw below comes from G, in this order.
 *   Bucket k (0 <= k < K) holds c_k = floor((k + 1) m / K) - floor(k m / K) rows.
 *   If K > 1, pass 1: for i = 0, 1, ..., m - 1: j = below(m - i); row i goes to the first
 *     bucket k with r_0 + r_1 + ... + r_k > j, where r_b is the number of rows bucket b can
 *     still take (c_b less the rows already in it). Within a bucket, rows keep their order.
 *   Pass 2: for k = 0, 1, ..., K - 1, the bucket's rows b[0 .. c_k) are shuffled,
 *     for i = c_k - 1 down to 1: j = below(i + 1); swap b[i] and b[j],
 *     and appended to the outputs.
 *   With K = 1 there is no pass 1 and no temporary file: x_out row k is x_in row perm[k],
 *   perm = mb_permutation(m, seed, 0), the order mb_shuffle(..., seed, 0) gives in memory.
 * The order is a function of seed, m and K alone; K follows from the budget (and m and
 * row_bytes), so the same seed with another memory_budget can give another order. Nothing
 * else changes it (not the machine, the threads or temp_dir).
 * How random: if G's outputs were independent and uniform, each of the m! orders would have
 * probability exactly 1/m!, whatever K: pass 1 gives each arrangement of the bucket labels
 * (c_k rows for bucket k) the probability c_0! c_1! ... c_{K-1}! / m!, and pass 2 each order
 * within the buckets the probability 1 / (c_0! c_1! ... c_{K-1}!) (below is exact: Lemire's
 * method with rejection). The orders are not equally likely only in the way any seeded
 * generator's are not: an order is a function of (seed, m, K), so for given m and K at most
 * 2^64 orders can occur, fewer than m! from m = 21 on (as for mb_permutation).
 *
 * Files: the buckets are a temporary file of m * row_bytes bytes in temp_dir (NULL: the
 * directory of x_out, the outputs' file system rather than a /tmp that may be held in
 * memory), unlinked as soon as it is created, so nothing of it is left even if the process
 * is killed. Each output is written sequentially to a temporary file beside it
 * (x_out.tmp-XXXXXX), and when both are complete and flushed to disk, renamed over its
 * target (x_out, then y_out), as mb_model_save writes: on an error before that, neither
 * target is touched and the temporary files are removed. Free disk space needed: twice the
 * data (once with K = 1). When X and y are larger than half the memory this process may
 * use, pages are dropped from the page cache as they are read, and written pages flushed
 * and dropped every 8 MiB.
 * Errors: MB_ERR_INVALID_ARGUMENT for a NULL x_in or x_out, an empty path, one of y_in and
 * y_out NULL but not the other, an output that is an input or the other output (compared by
 * resolved path and by inode), an unsupported dtype, X and y with different row counts, a
 * memory_budget too small for one row (the message names the smallest that works);
 * MB_ERR_IO for an input that is missing, unreadable, a FIFO, a directory or a device, a
 * temp_dir that is missing or not a directory, an output that is a directory or whose
 * directory is missing or not writable, a read or write error (a full disk);
 * MB_ERR_FORMAT for a malformed or truncated .npy file. Thread-safe (no handle). */
mb_status mb_shuffle_npy(const char *x_in, const char *y_in, const char *x_out,
                         const char *y_out, uint64_t seed, size_t memory_budget,
                         const char *temp_dir);

/* ---------------------------------------------------------------------------------------
 * Built-in data
 * ------------------------------------------------------------------------------------- */

/* Two interleaving half circles ("moons"), the default demo dataset: x (m, 2), labels
 * y (m) in {0, 1}, m >= 2. Rows alternate class 0, 1, 0, ...; class 0 lies on the upper arc
 * (cos t, sin t), class 1 on the lower arc (1 - cos t, 0.5 - sin t), t evenly spaced over
 * [0, pi] within each class. Gaussian noise of standard deviation `noise` (finite, >= 0 and
 * <= 1e37, where no coordinate can overflow float; since 0.12.3, larger noise gave Inf) is
 * added to every coordinate in row order: the normal draws N_0, N_1, ... of stream
 * (seed, MB_STREAM_INIT), as for the initial weights. */
mb_status mb_make_moons(int64_t m, float noise, uint64_t seed, float *x, int32_t *y);

#ifdef __cplusplus
}
#endif

#endif /* MINIBATCH_H */
