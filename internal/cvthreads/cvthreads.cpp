#include <opencv2/core.hpp>
#include "cvthreads.h"

void modelpick_cv_set_num_threads(int n) { cv::setNumThreads(n); }
int modelpick_cv_get_num_threads(void) { return cv::getNumThreads(); }
