#ifdef __cplusplus
extern "C" {
#endif
void modelpick_cv_set_num_threads(int n);
int modelpick_cv_get_num_threads(void);
#ifdef __cplusplus
}
#endif
