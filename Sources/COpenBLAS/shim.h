#ifndef MINIBATCH_COPENBLAS_SHIM_H
#define MINIBATCH_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
