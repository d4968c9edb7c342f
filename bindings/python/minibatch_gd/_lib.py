"""Low layer: load ``libminibatch`` and declare its C ABI with :mod:`ctypes`.

Everything here mirrors ``include/minibatch.h`` one to one: the constants, the enums,
the structs and one ``argtypes``/``restype`` declaration per exported function, each
with its C declaration beside it.  Nothing here checks arguments; the high layer
(:mod:`minibatch_gd.network`, :mod:`minibatch_gd.core`) does that before calling in.

The library is found in this order (the first that exists wins):

1. the path in the environment variable ``MINIBATCH_LIBRARY`` (an error if it does
   not exist: an explicit override is never silently ignored);
2. a copy shipped inside the package (``minibatch_gd/libminibatch.so``, put there by
   ``pip install``);
3. the repository's build folder, ``<repo>/.build/release/libminibatch.so``, found
   relative to this file (``<repo>/bindings/python/minibatch_gd/_lib.py``).
"""

from __future__ import annotations

import ctypes
import enum
import math
import os
import sys
import threading
import warnings
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Optional

__all__ = [
    "lib",
    "library_path",
    "candidate_paths",
    "LIBRARY_ENV",
    "Status",
    "Activation",
    "Loss",
    "Init",
    "Targets",
    "LastBatch",
    "Optimizer",
    "Schedule",
    "FileShuffle",
    "PageCache",
    "DistributedMode",
    "mb_communicator",
    "mb_dataset_options",
    "mb_dataset_info",
    "mb_model_options",
    "mb_model_info",
    "mb_layer_info",
    "mb_progress",
    "mb_train_options",
    "mb_progress_fn",
]

LIBRARY_ENV = "MINIBATCH_LIBRARY"

# ------------------------------------------------------------------------------------
# Constants (#define in the header)
# ------------------------------------------------------------------------------------

MB_VERSION_MAJOR = 0
MB_VERSION_MINOR = 12
MB_VERSION_PATCH = 6
MB_VERSION_STRING = "0.12.6"
MB_VERSION_NUMBER = MB_VERSION_MAJOR * 10000 + MB_VERSION_MINOR * 100 + MB_VERSION_PATCH

MB_STREAM_INIT = 0xFFFFFFFFFFFFFFFF  # #define MB_STREAM_INIT 0xFFFFFFFFFFFFFFFFull
MB_BATCH_AUTO = -1  # #define MB_BATCH_AUTO (-1)

# ------------------------------------------------------------------------------------
# Enums (C enums are int-sized)
# ------------------------------------------------------------------------------------


class Status(enum.IntEnum):
    """``mb_status``."""

    OK = 0
    ERR_INVALID_ARGUMENT = 1
    ERR_OUT_OF_MEMORY = 2
    ERR_IO = 3
    ERR_FORMAT = 4
    ERR_DIVERGED = 5
    ERR_CANCELLED = 6
    ERR_INTERNAL = 7
    ERR_BUSY = 8
    ERR_COMMUNICATION = 9


class LastBatch(enum.IntEnum):
    """``mb_last_batch``."""

    KEEP = 0
    DROP = 1


class Activation(enum.IntEnum):
    """``mb_activation``."""

    LINEAR = 0
    RELU = 1
    TANH = 2
    SIGMOID = 3
    LEAKY_RELU = 4
    ELU = 5
    SELU = 6
    GELU = 7
    SILU = 8


class Loss(enum.IntEnum):
    """``mb_loss``."""

    MSE = 0
    BINARY_CROSS_ENTROPY = 1
    CROSS_ENTROPY = 2
    POISSON = 3


class Init(enum.IntEnum):
    """``mb_init``."""

    AUTO = 0
    HE = 1
    XAVIER = 2
    LECUN = 3


class Targets(enum.IntEnum):
    """``mb_targets``."""

    FLOAT32 = 0
    CLASS_INDEX = 1


class Optimizer(enum.IntEnum):
    """``mb_optimizer``."""

    SGD = 0
    RMSPROP = 1
    ADAM = 2
    ADAMW = 3
    ADAGRAD = 4
    ADAMAX = 5
    NADAM = 6
    RADAM = 7
    ADADELTA = 8


class Monitor(enum.IntEnum):
    """``mb_monitor``."""

    COST = 0
    VALIDATION_SCORE = 1


class Schedule(enum.IntEnum):
    """``mb_schedule``."""

    CONSTANT = 0
    STEP = 1
    EXPONENTIAL = 2
    INVERSE_TIME = 3
    COSINE = 4
    ADAPTIVE = 5
    MULTI_STEP = 6
    COSINE_RESTARTS = 7
    ONE_CYCLE = 8
    PLATEAU = 9
    CYCLIC = 10


class CyclicMode(enum.IntEnum):
    """``mb_cyclic_mode`` (since 0.11.0)."""

    TRIANGULAR = 0
    TRIANGULAR2 = 1
    EXP_RANGE = 2


class Denormals(enum.IntEnum):
    """``mb_denormals`` (since 0.12.0)."""

    FLUSH = 0
    KEEP = 1


class ThresholdMode(enum.IntEnum):
    """``mb_threshold_mode`` (since 0.11.0)."""

    REL = 0
    ABS = 1


class AnnealStrategy(enum.IntEnum):
    """``mb_anneal_strategy`` (since 0.10.0)."""

    COS = 0
    LINEAR = 1


class FileShuffle(enum.IntEnum):
    """``mb_file_shuffle``."""

    EXACT = 0
    BLOCK = 1


class PageCache(enum.IntEnum):
    """``mb_page_cache``."""

    AUTO = 0
    KEEP = 1
    RELEASE = 2


class DistributedMode(enum.IntEnum):
    """``mb_distributed_mode``."""

    DETERMINISTIC = 0
    FAST = 1


mb_status_t = c_int  # typedef enum mb_status {...} mb_status;
mb_enum_t = c_int  # every other enum

# ------------------------------------------------------------------------------------
# Structs
# ------------------------------------------------------------------------------------

mb_model_p = c_void_p  # typedef struct mb_model mb_model;   (opaque)
mb_history_p = c_void_p  # typedef struct mb_history mb_history; (opaque)
mb_dataset_p = c_void_p  # typedef struct mb_dataset mb_dataset; (opaque)
mb_interrupt_p = c_void_p  # typedef struct mb_interrupt mb_interrupt; (opaque)


class mb_model_options(Structure):
    """typedef struct mb_model_options {...} mb_model_options;"""

    _fields_ = [
        ("hidden_activation", mb_enum_t),  # mb_activation hidden_activation;
        ("activations", POINTER(mb_enum_t)),  # const mb_activation *activations;
        ("loss", mb_enum_t),  # mb_loss loss;
        ("init", mb_enum_t),  # mb_init init;
        ("seed", c_uint64),  # uint64_t seed;
    ]


class mb_model_info(Structure):
    """typedef struct mb_model_info {...} mb_model_info;"""

    _fields_ = [
        ("n_layers", c_int64),  # int64_t n_layers;
        ("n_inputs", c_int64),  # int64_t n_inputs;
        ("n_outputs", c_int64),  # int64_t n_outputs;
        ("n_parameters", c_int64),  # int64_t n_parameters;
        ("epochs_trained", c_int64),  # int64_t epochs_trained;
        ("loss", mb_enum_t),  # mb_loss loss;
    ]


class mb_layer_info(Structure):
    """typedef struct mb_layer_info {...} mb_layer_info;"""

    _fields_ = [
        ("n_in", c_int64),  # int64_t n_in;
        ("n_out", c_int64),  # int64_t n_out;
        ("activation", mb_enum_t),  # mb_activation activation;
        ("weight_offset", c_int64),  # int64_t weight_offset;
        ("bias_offset", c_int64),  # int64_t bias_offset;
    ]


class mb_progress(Structure):
    """typedef struct mb_progress {...} mb_progress;"""

    _fields_ = [
        ("epoch", c_int64),  # int64_t epoch;
        ("epochs", c_int64),  # int64_t epochs;
        ("epochs_trained", c_int64),  # int64_t epochs_trained;
        ("batch_size", c_int64),  # int64_t batch_size;
        ("batches", c_int64),  # int64_t batches;
        ("epoch_cost", c_double),  # double epoch_cost;
        ("last_batch_cost", c_double),  # double last_batch_cost;
        ("learning_rate", c_double),  # double learning_rate;
        ("validation_cost", c_double),  # double validation_cost;
        ("validation_score", c_double),  # double validation_score;
    ]


# typedef int (*mb_progress_fn)(const mb_progress *progress, void *user_data);
mb_progress_fn = CFUNCTYPE(c_int, POINTER(mb_progress), c_void_p)


# int (*allreduce_sum)(float *data, int64_t count, void *user_data);
mb_allreduce_sum_fn = CFUNCTYPE(c_int, POINTER(c_float), c_int64, c_void_p)
# int (*allgather)(const void *send, void *receive, int64_t bytes, void *user_data);
mb_allgather_fn = CFUNCTYPE(c_int, c_void_p, c_void_p, c_int64, c_void_p)
# int (*broadcast)(void *data, int64_t bytes, int root, void *user_data);
mb_broadcast_fn = CFUNCTYPE(c_int, c_void_p, c_int64, c_int, c_void_p)


class mb_communicator(Structure):
    """typedef struct mb_communicator {...} mb_communicator;"""

    _fields_ = [
        ("struct_size", c_size_t),  # size_t struct_size;
        ("rank", c_int),  # int rank;
        ("size", c_int),  # int size;
        ("user_data", c_void_p),  # void *user_data;
        ("allreduce_sum", mb_allreduce_sum_fn),  # int (*allreduce_sum)(float *, int64_t, void *);
        ("allgather", mb_allgather_fn),  # int (*allgather)(const void *, void *, int64_t, void *);
        ("broadcast", mb_broadcast_fn),  # int (*broadcast)(void *, int64_t, int, void *);
    ]


class mb_train_options(Structure):
    """typedef struct mb_train_options {...} mb_train_options;"""

    def __setattr__(self, name: str, value: object) -> None:
        # A float field takes the nearest float32: a finite value beyond float32's range
        # would reach the library as inf, a nonzero one below its smallest as 0, and the
        # library's message would show that ("got inf"), not the value given.
        if name in _TRAIN_FLOAT_FIELDS and isinstance(value, float) and value != 0 and math.isfinite(value):
            rounded = c_float(value).value
            if math.isinf(rounded) or rounded == 0:
                from .errors import InvalidArgumentError

                where = "beyond float32's range (|x| <= 3.4e38)" if math.isinf(rounded) else (
                    "nonzero but below float32's smallest value (1.4e-45)")
                raise InvalidArgumentError(f"{name} {value!r} is {where}")
        super().__setattr__(name, value)

    _fields_ = [
        ("struct_size", c_size_t),  # size_t struct_size;
        ("epochs", c_int64),  # int64_t epochs;
        ("batch_size", c_int64),  # int64_t batch_size;
        ("learning_rate", c_float),  # float learning_rate;
        ("seed", c_uint64),  # uint64_t seed;
        ("shuffle", c_int),  # int shuffle;
        ("last_batch", mb_enum_t),  # mb_last_batch last_batch;
        ("memory_budget", c_size_t),  # size_t memory_budget;
        ("progress", mb_progress_fn),  # mb_progress_fn progress;
        ("user_data", c_void_p),  # void *user_data;
        ("threads", c_int),  # int threads;
        ("optimizer", mb_enum_t),  # mb_optimizer optimizer;
        ("momentum", c_float),  # float momentum;
        ("nesterov", c_int),  # int nesterov;
        ("rho", c_float),  # float rho;
        ("beta1", c_float),  # float beta1;
        ("beta2", c_float),  # float beta2;
        ("epsilon", c_float),  # float epsilon;
        ("weight_decay", c_float),  # float weight_decay;
        ("l2", c_float),  # float l2;
        ("clip_norm", c_float),  # float clip_norm;
        ("schedule", mb_enum_t),  # mb_schedule schedule;
        ("gamma", c_double),  # double gamma;
        ("step_epochs", c_int64),  # int64_t step_epochs;
        ("power_t", c_double),  # double power_t;
        ("cosine_epochs", c_int64),  # int64_t cosine_epochs;
        ("min_learning_rate", c_double),  # double min_learning_rate;
        ("patience", c_int64),  # int64_t patience;
        ("min_delta", c_double),  # double min_delta;
        ("restore_best", c_int),  # int restore_best;
        ("validation_x", c_void_p),  # const float *validation_x;
        ("validation_y", c_void_p),  # const void *validation_y;
        ("validation_y_type", mb_enum_t),  # mb_targets validation_y_type;
        ("validation_m", c_int64),  # int64_t validation_m;
        ("validation_fraction", c_double),  # double validation_fraction;
        ("sample_weight", c_void_p),  # const float *sample_weight;
        ("validation_dataset", c_void_p),  # const struct mb_dataset *validation_dataset;
        ("shards", c_int64),  # int64_t shards;
        ("communicator", POINTER(mb_communicator)),  # const mb_communicator *communicator;
        ("distributed_mode", mb_enum_t),  # mb_distributed_mode distributed_mode;
        ("interrupt", mb_interrupt_p),  # mb_interrupt *interrupt;
        ("monitor", mb_enum_t),  # mb_monitor monitor;  (since 0.4.0)
        ("dropout", c_double),  # double dropout;  (since 0.5.0)
        ("class_weight", c_void_p),  # const float *class_weight;  (since 0.5.0)
        ("class_weight_count", c_int64),  # int64_t class_weight_count;
        ("label_smoothing", c_double),  # double label_smoothing;  (since 0.5.0)
        ("amsgrad", c_int),  # int amsgrad;  (since 0.6.0)
        ("warmup_epochs", c_int64),  # int64_t warmup_epochs;  (since 0.6.0)
        ("warmup_start_factor", c_double),  # double warmup_start_factor;  (since 0.6.0)
        ("clip_value", c_float),  # float clip_value;  (since 0.6.0)
        ("lr_decay", c_float),  # float lr_decay;  (since 0.6.0)
        ("initial_accumulator_value", c_float),  # float initial_accumulator_value;  (since 0.6.0)
        ("momentum_decay", c_double),  # double momentum_decay;  (since 0.7.0)
        ("centered", c_int),  # int centered;  (since 0.7.0)
        ("milestones", c_void_p),  # const int64_t *milestones;  (since 0.7.0)
        ("milestone_count", c_int64),  # int64_t milestone_count;  (since 0.7.0)
        ("restart_multiplier", c_int64),  # int64_t restart_multiplier;  (since 0.7.0)
        ("validation_sample_weight", c_void_p),  # const float *validation_sample_weight;  (since 0.7.0)
        ("schedule_per_batch", c_int),  # int schedule_per_batch;  (since 0.9.0)
        ("pct_start", c_double),  # double pct_start;  (since 0.9.0)
        ("div_factor", c_double),  # double div_factor;  (since 0.9.0)
        ("final_div_factor", c_double),  # double final_div_factor;  (since 0.9.0)
        ("cycle_momentum", c_int),  # int cycle_momentum;  (since 0.10.0)
        ("base_momentum", c_double),  # double base_momentum;  (since 0.10.0)
        ("max_momentum", c_double),  # double max_momentum;  (since 0.10.0)
        ("three_phase", c_int),  # int three_phase;  (since 0.10.0)
        ("anneal_strategy", c_int),  # mb_anneal_strategy anneal_strategy;  (since 0.10.0)
        ("coupled_weight_decay", c_float),  # float coupled_weight_decay;  (since 0.10.0)
        ("decoupled_weight_decay", c_int),  # int decoupled_weight_decay;  (since 0.10.0)
        ("plateau_patience", c_int64),  # int64_t plateau_patience;  (since 0.11.0)
        ("plateau_threshold", c_double),  # double plateau_threshold;  (since 0.11.0)
        ("plateau_threshold_mode", c_int),  # mb_threshold_mode plateau_threshold_mode;  (since 0.11.0)
        ("plateau_cooldown", c_int64),  # int64_t plateau_cooldown;  (since 0.11.0)
        ("plateau_eps", c_double),  # double plateau_eps;  (since 0.11.0)
        ("cyclic_mode", c_int),  # mb_cyclic_mode cyclic_mode;  (since 0.11.0)
        ("cyclic_step_size_up", c_int64),  # int64_t cyclic_step_size_up;  (since 0.11.0)
        ("cyclic_step_size_down", c_int64),  # int64_t cyclic_step_size_down;  (since 0.11.0)
        ("denormals", c_int),  # mb_denormals denormals;  (since 0.12.0)
        ("reserved", c_int32),  # int32_t reserved;  (since 0.12.0)
    ]


#: mb_train_options' float fields (`mb_train_options.__setattr__`).
_TRAIN_FLOAT_FIELDS = frozenset(n for n, t in mb_train_options._fields_ if t is c_float)


class mb_dataset_options(Structure):
    """typedef struct mb_dataset_options {...} mb_dataset_options;"""

    _fields_ = [
        ("shuffle", mb_enum_t),  # mb_file_shuffle shuffle;
        ("block_bytes", c_size_t),  # size_t block_bytes;
        ("memory_budget", c_size_t),  # size_t memory_budget;
        ("page_cache", mb_enum_t),  # mb_page_cache page_cache;
    ]


class mb_dataset_info(Structure):
    """typedef struct mb_dataset_info {...} mb_dataset_info;"""

    _fields_ = [
        ("m", c_int64),  # int64_t m;
        ("n_features", c_int64),  # int64_t n_features;
        ("y_columns", c_int64),  # int64_t y_columns;
        ("y_type", mb_enum_t),  # mb_targets y_type;
        ("x_version", c_int32),  # int32_t x_version;
        ("y_version", c_int32),  # int32_t y_version;
    ]


class mb_blas_info(Structure):
    """typedef struct mb_blas_info {...} mb_blas_info;"""

    _fields_ = [
        ("struct_size", c_size_t),  # size_t struct_size;
        ("backend", c_char_p),  # const char *backend;
        ("openblas_version", c_char_p),  # const char *openblas_version;
        ("openblas_core", c_char_p),  # const char *openblas_core;
        ("openblas_isa", c_char_p),  # const char *openblas_isa;
        ("libxsmm_version", c_char_p),  # const char *libxsmm_version;
        ("libxsmm_target", c_char_p),  # const char *libxsmm_target;
        ("libxsmm_isa", c_char_p),  # const char *libxsmm_isa;
        ("cpu_isa", c_char_p),  # const char *cpu_isa;
        ("threads", c_int32),  # int32_t threads;
        ("training_forward", c_char_p),  # const char *training_forward;
        ("activations", c_char_p),  # const char *activations;  (since 0.9.0)
    ]


# ------------------------------------------------------------------------------------
# Function prototypes: (name, restype, argtypes), C declaration beside each.
# ------------------------------------------------------------------------------------

_f32p = POINTER(c_float)
_f64p = POINTER(c_double)
_i32p = POINTER(c_int32)
_i64p = POINTER(c_int64)
_u64p = POINTER(c_uint64)

_PROTOTYPES = [
    # const char *mb_version(void);
    ("mb_version", c_char_p, []),
    # int32_t mb_version_number(void);
    ("mb_version_number", c_int32, []),
    # const char *mb_last_error(void);
    ("mb_last_error", c_char_p, []),
    # const char *mb_status_name(mb_status status);
    ("mb_status_name", c_char_p, [mb_status_t]),
    # mb_status mb_get_blas_info(mb_blas_info *info);
    ("mb_get_blas_info", mb_status_t, [POINTER(mb_blas_info)]),
    # mb_status mb_random(uint64_t seed, uint64_t stream, uint64_t *out, int64_t count);
    ("mb_random", mb_status_t, [c_uint64, c_uint64, _u64p, c_int64]),
    # mb_status mb_permutation(int64_t m, uint64_t seed, uint64_t epoch, int64_t *perm);
    ("mb_permutation", mb_status_t, [c_int64, c_uint64, c_uint64, _i64p]),
    # mb_status mb_shuffle(void *x, size_t x_row_bytes, void *y, size_t y_row_bytes,
    #                      int64_t m, uint64_t seed, uint64_t epoch);
    (
        "mb_shuffle",
        mb_status_t,
        [c_void_p, c_size_t, c_void_p, c_size_t, c_int64, c_uint64, c_uint64],
    ),
    # mb_status mb_shuffle_into(const void *x, size_t x_row_bytes, const void *y,
    #                           size_t y_row_bytes, int64_t m, uint64_t seed,
    #                           uint64_t epoch, void *x_out, void *y_out);
    (
        "mb_shuffle_into",
        mb_status_t,
        [
            c_void_p,
            c_size_t,
            c_void_p,
            c_size_t,
            c_int64,
            c_uint64,
            c_uint64,
            c_void_p,
            c_void_p,
        ],
    ),
    # mb_status mb_partition(int64_t m, int64_t batch_size, mb_last_batch last_batch,
    #                        int64_t *starts, int64_t *counts, int64_t capacity,
    #                        int64_t *n_batches);
    (
        "mb_partition",
        mb_status_t,
        [c_int64, c_int64, mb_enum_t, _i64p, _i64p, c_int64, _i64p],
    ),
    # void mb_model_options_init(mb_model_options *options);
    ("mb_model_options_init", None, [POINTER(mb_model_options)]),
    # mb_status mb_model_create(const int64_t *layer_sizes, int64_t n_layers,
    #                           const mb_model_options *options, mb_model **model);
    (
        "mb_model_create",
        mb_status_t,
        [_i64p, c_int64, POINTER(mb_model_options), POINTER(mb_model_p)],
    ),
    # void mb_model_free(mb_model *model);
    ("mb_model_free", None, [mb_model_p]),
    # mb_status mb_model_get_info(const mb_model *model, mb_model_info *info);
    ("mb_model_get_info", mb_status_t, [mb_model_p, POINTER(mb_model_info)]),
    # mb_status mb_model_layer(const mb_model *model, int64_t layer, mb_layer_info *info);
    ("mb_model_layer", mb_status_t, [mb_model_p, c_int64, POINTER(mb_layer_info)]),
    # mb_status mb_model_get_parameters(const mb_model *model, float *out, int64_t count);
    ("mb_model_get_parameters", mb_status_t, [mb_model_p, _f32p, c_int64]),
    # mb_status mb_model_set_parameters(mb_model *model, const float *params,
    #                                   int64_t count);
    ("mb_model_set_parameters", mb_status_t, [mb_model_p, _f32p, c_int64]),
    # mb_status mb_model_reset_training_state(mb_model *model);
    ("mb_model_reset_training_state", mb_status_t, [mb_model_p]),
    # mb_status mb_model_restore_best_weights(mb_model *model, int64_t *epoch);
    ("mb_model_restore_best_weights", mb_status_t, [mb_model_p, _i64p]),
    # mb_status mb_predict(const mb_model *model, const float *x, int64_t m,
    #                      int64_t n_features, float *out);
    ("mb_predict", mb_status_t, [mb_model_p, _f32p, c_int64, c_int64, _f32p]),
    # mb_status mb_predict_classes(const mb_model *model, const float *x, int64_t m,
    #                              int64_t n_features, int32_t *out);
    ("mb_predict_classes", mb_status_t, [mb_model_p, _f32p, c_int64, c_int64, _i32p]),
    # mb_status mb_evaluate(const mb_model *model, const float *x, const void *y,
    #                       mb_targets y_type, int64_t m, int64_t n_features,
    #                       double *cost, double *accuracy);
    (
        "mb_evaluate",
        mb_status_t,
        [mb_model_p, _f32p, c_void_p, mb_enum_t, c_int64, c_int64, _f64p, _f64p],
    ),
    # mb_status mb_gradient(const mb_model *model, const float *x, const void *y,
    #                       mb_targets y_type, int64_t m, int64_t n_features,
    #                       double *cost, float *grad, int64_t count);
    (
        "mb_gradient",
        mb_status_t,
        [mb_model_p, _f32p, c_void_p, mb_enum_t, c_int64, c_int64, _f64p, _f32p, c_int64],
    ),
    # void mb_train_options_init(mb_train_options *options);
    ("mb_train_options_init", None, [POINTER(mb_train_options)]),
    # mb_status mb_auto_batch_size(const mb_model *model, int64_t m,
    #                              size_t memory_budget, int64_t *batch_size);
    ("mb_auto_batch_size", mb_status_t, [mb_model_p, c_int64, c_size_t, _i64p]),
    # mb_status mb_working_memory(const mb_model *model, int64_t batch_size,
    #                             size_t *bytes);
    ("mb_working_memory", mb_status_t, [mb_model_p, c_int64, POINTER(c_size_t)]),
    # mb_status mb_interrupt_create(mb_interrupt **interrupt);
    ("mb_interrupt_create", mb_status_t, [POINTER(mb_interrupt_p)]),
    # void mb_interrupt_free(mb_interrupt *interrupt);
    ("mb_interrupt_free", None, [mb_interrupt_p]),
    # void mb_interrupt_request_stop(mb_interrupt *interrupt);
    ("mb_interrupt_request_stop", None, [mb_interrupt_p]),
    # void mb_interrupt_clear(mb_interrupt *interrupt);
    ("mb_interrupt_clear", None, [mb_interrupt_p]),
    # int mb_interrupt_is_requested(const mb_interrupt *interrupt);
    ("mb_interrupt_is_requested", c_int, [mb_interrupt_p]),
    # mb_status mb_interrupt_counts(const mb_interrupt *interrupt, int64_t *batches_done,
    #                               int64_t *examples_done, int64_t *batches_per_epoch);
    ("mb_interrupt_counts", mb_status_t, [mb_interrupt_p, _i64p, _i64p, _i64p]),
    # mb_status mb_history_create(mb_history **history);
    ("mb_history_create", mb_status_t, [POINTER(mb_history_p)]),
    # void mb_history_free(mb_history *history);
    ("mb_history_free", None, [mb_history_p]),
    # mb_status mb_history_clear(mb_history *history);
    ("mb_history_clear", mb_status_t, [mb_history_p]),
    # mb_status mb_history_batch_costs(const mb_history *history, double *out,
    #                                  int64_t capacity, int64_t *count);
    ("mb_history_batch_costs", mb_status_t, [mb_history_p, _f64p, c_int64, _i64p]),
    # mb_status mb_history_epoch_costs(const mb_history *history, double *out,
    #                                  int64_t capacity, int64_t *count);
    ("mb_history_epoch_costs", mb_status_t, [mb_history_p, _f64p, c_int64, _i64p]),
    # mb_status mb_history_validation_costs(const mb_history *history, double *out,
    #                                       int64_t capacity, int64_t *count);
    ("mb_history_validation_costs", mb_status_t, [mb_history_p, _f64p, c_int64, _i64p]),
    # mb_status mb_history_validation_scores(const mb_history *history, double *out,
    #                                        int64_t capacity, int64_t *count);
    ("mb_history_validation_scores", mb_status_t, [mb_history_p, _f64p, c_int64, _i64p]),
    # mb_status mb_history_learning_rates(const mb_history *history, double *out,
    #                                     int64_t capacity, int64_t *count);
    ("mb_history_learning_rates", mb_status_t, [mb_history_p, _f64p, c_int64, _i64p]),
    # mb_status mb_train(mb_model *model, const float *x, const void *y,
    #                    mb_targets y_type, int64_t m, int64_t n_features,
    #                    const mb_train_options *options, mb_history *history);
    (
        "mb_train",
        mb_status_t,
        [
            mb_model_p,
            _f32p,
            c_void_p,
            mb_enum_t,
            c_int64,
            c_int64,
            POINTER(mb_train_options),
            mb_history_p,
        ],
    ),
    # mb_status mb_model_save(const mb_model *model, const char *path);
    ("mb_model_save", mb_status_t, [mb_model_p, c_char_p]),
    # mb_status mb_model_load(const char *path, mb_model **model);
    ("mb_model_load", mb_status_t, [c_char_p, POINTER(mb_model_p)]),
    # void mb_dataset_options_init(mb_dataset_options *options);
    ("mb_dataset_options_init", None, [POINTER(mb_dataset_options)]),
    # mb_status mb_dataset_open_npy(const char *x_path, const char *y_path,
    #                               const mb_dataset_options *options, mb_dataset **dataset);
    (
        "mb_dataset_open_npy",
        mb_status_t,
        [c_char_p, c_char_p, POINTER(mb_dataset_options), POINTER(mb_dataset_p)],
    ),
    # void mb_dataset_free(mb_dataset *dataset);
    ("mb_dataset_free", None, [mb_dataset_p]),
    # mb_status mb_dataset_get_info(const mb_dataset *dataset, mb_dataset_info *info);
    ("mb_dataset_get_info", mb_status_t, [mb_dataset_p, POINTER(mb_dataset_info)]),
    # mb_status mb_train_dataset(mb_model *model, const mb_dataset *dataset,
    #                            const mb_train_options *options, mb_history *history);
    (
        "mb_train_dataset",
        mb_status_t,
        [mb_model_p, mb_dataset_p, POINTER(mb_train_options), mb_history_p],
    ),
    # mb_status mb_train_fail(const mb_communicator *communicator, mb_status status,
    #                         const char *message);
    ("mb_train_fail", mb_status_t, [POINTER(mb_communicator), mb_status_t, c_char_p]),
    # mb_status mb_evaluate_dataset(const mb_model *model, const mb_dataset *dataset,
    #                               double *cost, double *accuracy);
    ("mb_evaluate_dataset", mb_status_t, [mb_model_p, mb_dataset_p, _f64p, _f64p]),
    # mb_status mb_predict_dataset(const mb_model *model, const mb_dataset *dataset,
    #                              float *out, int64_t capacity);
    ("mb_predict_dataset", mb_status_t, [mb_model_p, mb_dataset_p, _f32p, c_int64]),
    # mb_status mb_predict_classes_dataset(const mb_model *model, const mb_dataset *dataset,
    #                                      int32_t *out, int64_t capacity);
    ("mb_predict_classes_dataset", mb_status_t, [mb_model_p, mb_dataset_p, _i32p, c_int64]),
    # mb_status mb_predict_npy(const mb_model *model, const char *x_path,
    #                          const char *out_path, int classes, size_t memory_budget);
    ("mb_predict_npy", mb_status_t, [mb_model_p, c_char_p, c_char_p, c_int, c_size_t]),
    # mb_status mb_shuffle_npy(const char *x_in, const char *y_in, const char *x_out,
    #                          const char *y_out, uint64_t seed, size_t memory_budget,
    #                          const char *temp_dir);
    (
        "mb_shuffle_npy",
        mb_status_t,
        [c_char_p, c_char_p, c_char_p, c_char_p, c_uint64, c_size_t, c_char_p],
    ),
    # mb_status mb_make_moons(int64_t m, float noise, uint64_t seed, float *x,
    #                         int32_t *y);
    ("mb_make_moons", mb_status_t, [c_int64, c_float, c_uint64, _f32p, _i32p]),
]

EXPORTED_FUNCTIONS = tuple(name for name, _, _ in _PROTOTYPES)

# ------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------

if sys.platform == "darwin":  # pragma: no cover - the project targets Linux
    _LIB_NAME = "libminibatch.dylib"
elif sys.platform == "win32":  # pragma: no cover
    _LIB_NAME = "minibatch.dll"
else:
    _LIB_NAME = "libminibatch.so"

_PACKAGE_DIR = Path(__file__).resolve().parent


def _repo_build_path() -> Optional[Path]:
    """``<repo>/.build/release/libminibatch.so`` if this package sits in the repository."""
    # <repo>/bindings/python/minibatch_gd/_lib.py -> parents[2] is <repo>
    try:
        repo = _PACKAGE_DIR.parents[2]
    except IndexError:  # pragma: no cover - installed at a very shallow path
        return None
    return repo / ".build" / "release" / _LIB_NAME


def candidate_paths() -> list[tuple[str, Path]]:
    """The places searched for the library, in order, as ``(origin, path)`` pairs."""
    out: list[tuple[str, Path]] = []
    env = os.environ.get(LIBRARY_ENV)
    if env:
        out.append((LIBRARY_ENV, Path(env)))
    out.append(("package", _PACKAGE_DIR / _LIB_NAME))
    repo = _repo_build_path()
    if repo is not None:
        out.append(("repository build folder", repo))
    return out


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[Path] = None


def _find() -> Path:
    env = os.environ.get(LIBRARY_ENV)
    if env:
        p = Path(env)
        if not p.is_file():
            raise OSError(
                f"{LIBRARY_ENV} is set to {env!r}, but no such file exists. "
                f"Unset it to use the packaged library or the repository build."
            )
        return p
    tried = []
    for origin, p in candidate_paths():
        if p.is_file():
            return p
        tried.append(f"  {origin}: {p}")
    raise OSError(
        "libminibatch was not found. Looked in:\n"
        + "\n".join(tried)
        + f"\nBuild it with `make build` at the repository"
        f" root, reinstall the package with `pip install ./bindings/python`, or set"
        f" {LIBRARY_ENV} to the path of libminibatch.so."
    )


def _declare(cdll: ctypes.CDLL) -> None:
    missing = []
    for name, restype, argtypes in _PROTOTYPES:
        try:
            fn = getattr(cdll, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise OSError(
            f"{_lib_path} does not export {', '.join(missing)}: it is not a libminibatch"
            f" built from this header (version {MB_VERSION_STRING})."
        )


def lib() -> ctypes.CDLL:
    """The loaded library with every prototype declared (loaded on first use)."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = _find()
            try:
                cdll = ctypes.CDLL(str(path))
            except OSError as e:
                raise OSError(f"could not load {path}: {e}") from e
            _lib_path = path.resolve()
            _declare(cdll)
            number = int(cdll.mb_version_number())
            major, minor = number // 10000, (number // 100) % 100
            if (major, minor) != (MB_VERSION_MAJOR, MB_VERSION_MINOR):
                warnings.warn(
                    f"libminibatch {cdll.mb_version().decode()} at {path} does not match"
                    f" the header this binding was written for ({MB_VERSION_STRING});"
                    f" results may be wrong.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            _lib = cdll
    return _lib


def library_path() -> Path:
    """The absolute path of the loaded library (loads it if needed)."""
    lib()
    assert _lib_path is not None
    return _lib_path


def last_error() -> str:
    """``mb_last_error()`` decoded (the message of the last failed call on this thread)."""
    raw = lib().mb_last_error()
    return raw.decode("utf-8", "replace") if raw is not None else ""


def status_name(status: int) -> str:
    """``mb_status_name(status)``."""
    raw = lib().mb_status_name(int(status))
    return raw.decode("ascii", "replace") if raw is not None else "unknown status"
