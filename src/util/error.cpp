// Out-of-line pieces of the error type.
#include "unmask/util/error.h"

namespace unmask {

void fail(const std::string& message) { throw Error(message); }

}  // namespace unmask
