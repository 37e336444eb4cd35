/* placeholder: the SSE parser is being written */
typedef int ar_placeholder_sse;
