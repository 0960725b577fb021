/* archbench: see harness/cli.c. */
int ab_cli_main(int argc, char **argv);

int main(int argc, char **argv) { return ab_cli_main(argc, argv); }
