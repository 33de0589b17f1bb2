// SPDX-License-Identifier: BSD-3-Clause
/*
 * c2c: how long one cache line takes to go from CPU A to CPU B and back,
 * the cost every virtio ring index, descriptor and packet header pays
 * once per batch between a driver and its backend on two CPUs. Two
 * threads, pinned, bounce a counter in one line (A writes odd values, B
 * answers with the next even one); the median of ROUNDS batches of
 * round trips is printed in ns.
 *
 *   c2c [CPU_A] [CPU_B] [MS]
 *
 * In a VM the figure says where the host put the two vCPUs at that
 * moment (SMT siblings of one core, two cores of one L3, two L3s): the
 * same two "CPUs" here moved between ~50 and ~200 ns within minutes,
 * which bench/virtio.sh prints next to each run's Mpps.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TRIPS 2000 /* round trips per sample */
#define MAX_SAMPLES 4096

static _Alignas(64) volatile uint64_t line;
static int cpu_b;
static volatile int stop;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

/* B: answers each odd value with the next even one. */
static void *answer(void *arg)
{
	(void)arg;
	if (pin(cpu_b) != 0)
		fprintf(stderr, "c2c: cannot pin to CPU %d\n", cpu_b);
	while (!stop) {
		uint64_t v = __atomic_load_n(&line, __ATOMIC_ACQUIRE);

		if (v & 1)
			__atomic_store_n(&line, v + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int cpu_a = argc > 1 ? atoi(argv[1]) : 0;
	uint64_t ms = argc > 3 ? strtoull(argv[3], NULL, 10) : 200, end;
	static double s[MAX_SAMPLES];
	pthread_t t;
	int n = 0;

	cpu_b = argc > 2 ? atoi(argv[2]) : 1;
	if (pin(cpu_a) != 0) {
		fprintf(stderr, "c2c: cannot pin to CPU %d (taskset allows it?)\n", cpu_a);
		return 1;
	}
	if (pthread_create(&t, NULL, answer, NULL) != 0) {
		fprintf(stderr, "c2c: cannot start the second thread\n");
		return 1;
	}
	end = now_ns() + ms * 1000000u;
	while (n < MAX_SAMPLES && now_ns() < end) {
		uint64_t t0 = now_ns(), v = line;

		for (int i = 0; i < TRIPS; i++) {
			__atomic_store_n(&line, v + 1, __ATOMIC_RELEASE);
			while ((v = __atomic_load_n(&line, __ATOMIC_ACQUIRE)) & 1)
				;
		}
		s[n++] = (double)(now_ns() - t0) / TRIPS;
	}
	stop = 1;
	pthread_join(t, NULL);
	qsort(s, (size_t)n, sizeof(s[0]), cmp);
	/* The median: a sample the scheduler interrupted is far off. */
	printf("%.0f\n", n ? s[n / 2] : 0.0);
	return 0;
}
