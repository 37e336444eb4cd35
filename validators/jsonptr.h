/* Moved to harness/jsonptr.h (ar_base), so the fault proxy can use it
 * without depending on the validators. */
#include "../harness/jsonptr.h"
