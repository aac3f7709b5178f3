# Store vs Redis/memcached benchmark (issue 5); included from
# bench/CMakeLists.txt. Speaks RESP and the memcached text protocol itself
# (no client library); the servers come from Debian (redis-server,
# memcached) and are optional at run time.
#   bench/store_vs_redis.sh $<mooncake_master> $<bench_store_vs_redis> [--threads T --secs S --batch B --warm]
add_executable(bench_store_vs_redis ${CMAKE_CURRENT_LIST_DIR}/store_vs_redis.c)
target_link_libraries(bench_store_vs_redis PRIVATE mooncake Threads::Threads)
# Smoke test (not a measurement): short rows; every system it could start
# must report positive throughput and latencies and no errors.
add_test(NAME bench.store_vs_redis_smoke
         COMMAND ${CMAKE_CURRENT_LIST_DIR}/store_vs_redis_smoke.sh $<TARGET_FILE:mooncake_master>
                 $<TARGET_FILE:bench_store_vs_redis>)
set_tests_properties(bench.store_vs_redis_smoke PROPERTIES LABELS "bench;api" TIMEOUT 120)
