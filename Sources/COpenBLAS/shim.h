// cblas from Debian's OpenBLAS (pkg-config `openblas`; there is no cblas.pc). Imported directly.
#ifndef BAE_COPENBLAS_SHIM_H
#define BAE_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
