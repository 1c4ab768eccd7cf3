// One call per product instead of a handful of gocv calls: no keypoint or
// contour crosses into Go, and the outputs land in the caller's buffers.
// Each function is what the gocv calls it replaces did, pixel for pixel
// (TestKernelsMatchGocv).
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/features2d.hpp>
#include "kernels.h"

int mp_fast_count(const uint8_t* gray, int w, int h, int threshold, int nonmax) {
	cv::Mat g(h, w, CV_8UC1, const_cast<uint8_t*>(gray));
	// Reused per thread: keypoint vectors would otherwise grow afresh
	// for every image.
	thread_local std::vector<cv::KeyPoint> kps;
	kps.clear();
	cv::FAST(g, kps, threshold, nonmax != 0, cv::FastFeatureDetector::TYPE_9_16);
	return (int)kps.size();
}

mp_object mp_main_object(const uint8_t* gray, int w, int h) {
	mp_object o = {0, 0, 0, 0, 0};
	cv::Mat g(h, w, CV_8UC1, const_cast<uint8_t*>(gray));
	thread_local cv::Mat blur, mask;
	thread_local std::vector<std::vector<cv::Point> > contours;
	cv::GaussianBlur(g, blur, cv::Size(5, 5), 0, 0, cv::BORDER_DEFAULT);
	cv::threshold(blur, mask, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
	// Foreground is the Otsu class covering less of the border.
	int bright = 0, total = 0;
	const uint8_t* m = mask.ptr<uint8_t>(0);
	auto count = [&](int i) { total++; if (m[i]) bright++; };
	for (int x = 0; x < w; x++) {
		count(x);
		if (h > 1) count((h - 1) * w + x);
	}
	for (int y = 1; y < h - 1; y++) {
		count(y * w);
		if (w > 1) count(y * w + w - 1);
	}
	if (2 * bright > total) cv::bitwise_not(mask, mask);
	contours.clear();
	cv::Mat hierarchy;
	cv::findContours(mask, contours, hierarchy, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
	int best = -1;
	double bestArea = -1;
	for (size_t i = 0; i < contours.size(); i++) {
		double a = cv::contourArea(contours[i]);
		if (a > bestArea) { best = (int)i; bestArea = a; }
	}
	if (best < 0) return o;
	o.found = 1;
	o.area = bestArea;
	o.perim = cv::arcLength(contours[best], true);
	cv::Rect box = cv::boundingRect(contours[best]);
	o.box_w = box.width;
	o.box_h = box.height;
	return o;
}

void mp_edges(const uint8_t* gray, int w, int h, int low, int high, uint8_t* smooth, uint8_t* edges) {
	cv::Mat g(h, w, CV_8UC1, const_cast<uint8_t*>(gray));
	cv::Mat s(h, w, CV_8UC1, smooth), e(h, w, CV_8UC1, edges);
	cv::GaussianBlur(g, s, cv::Size(3, 3), 0, 0, cv::BORDER_DEFAULT);
	cv::Canny(s, e, low, high);
}
