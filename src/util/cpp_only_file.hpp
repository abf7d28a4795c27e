// Included last by every pure C++ translation unit: those files are unit-tested
// without a server, so pulling in postgres.h (directly or through another
// header) is a build error rather than a silent dependency.
#pragma once

#ifdef PG_VERSION_NUM
#error "pure C++ file must not include postgres.h"
#endif
