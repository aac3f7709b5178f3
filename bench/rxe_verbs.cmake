# Verbs transport bandwidth (bench/rxe_verbs_bw.sh runs it inside the
# Soft-RoCE VM next to perftest's ib_write_bw). Needs libibverbs.
if(MC_HAVE_VERBS)
  add_executable(bench_rxe_verbs_bw ${CMAKE_CURRENT_LIST_DIR}/rxe_verbs_bw.c)
  target_link_libraries(bench_rxe_verbs_bw PRIVATE mc_xport mc_hw)
endif()
