/* archbench: the commands that run are harness/cli.c's; `report` and `compare`, which read
 * results only, are reports/report.c's and reports/compare.c's. */
#include <stdio.h>
#include <string.h>

int ab_cli_main(int argc, char **argv);
int ab_report(int ndirs, char **dirs);
int ab_compare_main(int argc, char **argv);
int ab_mock_instrument_main(int argc, char **argv);

int main(int argc, char **argv)
{
  if (argc >= 2 && !strcmp(argv[1], "report")) {
    for (int i = 2; i < argc; i++)
      if (argv[i][0] == '-') {
        fprintf(stderr, "archbench: report: unknown option %s (expected: archbench report RUN_DIR [RUN_DIR...])\n", argv[i]);
        return 2;
      }
    return ab_report(argc - 2, argv + 2);
  }
  if (argc >= 2 && !strcmp(argv[1], "compare"))
    return ab_compare_main(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "mock-instrument"))
    return ab_mock_instrument_main(argc - 1, argv + 1);
  return ab_cli_main(argc, argv);
}
