# hw benchmarks (include from bench/CMakeLists.txt: add "hw_bench" to the
# foreach list of parts).
add_executable(bench_hw_rpc ${CMAKE_CURRENT_LIST_DIR}/hw_rpc_bench.c)
target_link_libraries(bench_hw_rpc PRIVATE mc_hw Threads::Threads)
