#ifndef MODELPICK_FEATURES_KERNELS_H
#define MODELPICK_FEATURES_KERNELS_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

// The main object of an 8-bit luma image (see shape.go): found is 0 when
// the Otsu mask has no external contour.
typedef struct {
	int found;
	double area, perim;
	int box_w, box_h;
} mp_object;

// Each takes a continuous 8-bit image of w x h pixels that the caller
// owns for the duration of the call; outputs are written to caller memory
// of the stated size.
int mp_fast_count(const uint8_t* gray, int w, int h, int threshold, int nonmax);
mp_object mp_main_object(const uint8_t* gray, int w, int h);
void mp_edges(const uint8_t* gray, int w, int h, int low, int high, uint8_t* smooth, uint8_t* edges);

#ifdef __cplusplus
}
#endif
#endif
