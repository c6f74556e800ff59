// zstd from Debian (pkg-config `libzstd`). Imported directly.
#ifndef BAE_CZSTD_SHIM_H
#define BAE_CZSTD_SHIM_H
#include <zstd.h>
#endif
