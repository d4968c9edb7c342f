/*
 * mpi_tests.h - the tests of test_mpi that test_mpi.c lists, defined in the files named.
 */
#ifndef MB_TEST_MPI_TESTS_H
#define MB_TEST_MPI_TESTS_H

/* test_mpi_deterministic.c */
void test_one_process_reference_depends_on_shards_only(void);
void test_deterministic_moons_every_rule(void);
void test_deterministic_w1_small_every_rule(void);
void test_deterministic_l2_and_clip_norm(void);
void test_deterministic_dropout(void);
void test_deterministic_schedules(void);
void test_deterministic_validation_and_early_stopping(void);
void test_deterministic_last_batch_kept_and_dropped(void);
void test_deterministic_threads_differ_between_ranks(void);
void test_deterministic_default_shards_are_threads_times_ranks(void);
void test_deterministic_ranks_without_rows(void);
void test_deterministic_float_targets(void);
void test_deterministic_data_options(void);
void test_deterministic_continuing_training(void);
void test_deterministic_large_first_layer(void);
void test_fast_mode_close_to_one_process(void);

/* test_mpi_files.c */
void test_deterministic_file_dataset(void);
void test_rank_reads_only_its_rows(void);

/* test_mpi_failures.c */
void test_error_options_differ_between_ranks(void);
void test_error_each_option_differs(void);
void test_error_refused_before_training_on_one_rank(void);
void test_error_a_rank_that_will_not_train(void);
void test_error_nan_on_one_rank(void);
void test_error_bad_file_on_one_rank(void);
void test_divergence_stops_every_rank(void);
void test_cancel_on_one_rank_stops_every_rank(void);

#endif /* MB_TEST_MPI_TESTS_H */
