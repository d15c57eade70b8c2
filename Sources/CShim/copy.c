// Copies with non-temporal (streaming) stores: SSE2 intrinsics have no Swift spelling.
#include <emmintrin.h>
#include <stdint.h>
#include <string.h>
#include "CShim.h"

void cshim_copy_streaming(void *destination, const void *source, size_t count) {
    unsigned char *d = destination;
    const unsigned char *s = source;
    // Align the destination to 16 bytes with a plain copy, stream the middle, copy the tail.
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;
    if (head > count) head = count;
    memcpy(d, s, head);
    d += head;
    s += head;
    count -= head;
    size_t blocks = count / 64;
    for (size_t i = 0; i < blocks; i++) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + 32));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + 48));
        _mm_stream_si128((__m128i *)d, a);
        _mm_stream_si128((__m128i *)(d + 16), b);
        _mm_stream_si128((__m128i *)(d + 32), c);
        _mm_stream_si128((__m128i *)(d + 48), e);
        d += 64;
        s += 64;
    }
    _mm_sfence();  // streaming stores are weakly ordered: finish them before the flip publishes
    memcpy(d, s, count - blocks * 64);
}
