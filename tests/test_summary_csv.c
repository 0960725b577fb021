/* summary.csv (harness/table.c): the summary table's rows for programs, beside summary.txt.
 * One header line, a line per result; numbers in base units that read back as the result
 * files' own figures; an empty cell where the table says "-"; a field holding a comma or a
 * quote quoted as RFC 4180 says. The file is read here with a parser of RFC 4180's own
 * grammar, so a field that is not quoted where it must be shifts the columns and fails. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "jresult.h"
#include "proc.h"
#include "result.h"
#include "test.h"

#define HEADER                                                                                                 \
  "scenario,arch,repeat,late_p50_ns,late_p99_ns,late_p999_ns,missed_periods,chain_p50_ns,chain_p99_ns,chain_max_ns," \
  "chain_lost,rate_per_s,rate_count,cpu_percent,pss_mb,status,verdict"
#define NCOL 17
#define MAXROW 16

typedef struct csv {
  char cell[MAXROW][NCOL][300];
  int nrows;
} csv_t;

/* RFC 4180: records end in CRLF; a field is quoted if it starts with a quote, and then a
 * doubled quote is one quote. Every record must have NCOL fields. */
static void csv_parse(const char *t, csv_t *c)
{
  memset(c, 0, sizeof *c);
  while (*t) {
    if (c->nrows == MAXROW)
      AB_FAIL("more than %d records", MAXROW);
    int col = 0;
    for (;;) {
      if (col == NCOL)
        AB_FAIL("record %d has more than %d fields", c->nrows, NCOL);
      char *out = c->cell[c->nrows][col];
      size_t n = 0;
      if (*t == '"') {
        for (t++;; t++) {
          if (!*t)
            AB_FAIL("record %d: a quoted field never ends", c->nrows);
          if (*t == '"' && t[1] != '"')
            break;
          if (*t == '"')
            t++;
          if (n < 299)
            out[n++] = *t;
        }
        t++;
      } else {
        for (; *t && *t != ',' && *t != '\r' && *t != '\n'; t++) {
          if (*t == '"')
            AB_FAIL("record %d field %d: a quote inside a field that is not quoted", c->nrows, col);
          if (n < 299)
            out[n++] = *t;
        }
      }
      col++;
      if (*t == ',') {
        t++;
        continue;
      }
      if (t[0] != '\r' || t[1] != '\n')
        AB_FAIL("record %d field %d: followed by \"%.10s\", not a comma or CRLF", c->nrows, col, t);
      t += 2;
      break;
    }
    if (col != NCOL)
      AB_FAIL("record %d has %d fields, the header %d", c->nrows, col, NCOL);
    c->nrows++;
  }
}

static int col_of(const csv_t *c, const char *name)
{
  for (int k = 0; k < NCOL; k++)
    if (!strcmp(c->cell[0][k], name))
      return k;
  AB_FAIL("no column %s in the header", name);
}

/* The cell of `name` in record row as a number: all of it, and nothing else. */
static double num(const csv_t *c, int row, const char *name)
{
  const char *s = c->cell[row][col_of(c, name)];
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || !isfinite(v))
    AB_FAIL("row %d %s: \"%s\" is not a plain number", row, name, s);
  return v;
}

static const char *cell(const csv_t *c, int row, const char *name) { return c->cell[row][col_of(c, name)]; }

TEST(summary_csv_has_a_row_per_result_in_base_units)
{
  const char *out = run_baseline_pair();
  char path[512];
  snprintf(path, sizeof path, "%s/summary.csv", out);
  char *text = slurp(path), names[1024];
  ASSERT(!strncmp(text, HEADER "\r\n", strlen(HEADER) + 2));
  static csv_t c;
  csv_parse(text, &c);
  ASSERT_EQ(c.nrows, 3);
  /* the two results and the two summaries, no temporary left */
  ASSERT_EQ(dir_entries(out, names, sizeof names), 4);
  ASSERT_CONTAINS(names, "summary.txt");
  const char *files[] = { "baseline.threads.json", "baseline.procs.shm.json" };
  for (int i = 0; i < 2; i++) {
    int row = i + 1;
    ab_result_t *r = load_view(out, files[i]);
    char label[64];
    ASSERT_STR(cell(&c, row, "scenario"), "baseline");
    ASSERT_STR(cell(&c, row, "arch"), ab_result_label(r, label, sizeof label));
    ab_summary_t s;
    int64_t missed;
    ASSERT_EQ(ab_result_metric(r, "tick.lateness_ns", &s), 0);
    ASSERT_EQ(ab_result_counter(r, "tick.missed_periods", &missed), 0);
    ASSERT_DBL(num(&c, row, "late_p50_ns"), ==, (double)s.p50);
    ASSERT_DBL(num(&c, row, "late_p99_ns"), ==, (double)s.p99);
    ASSERT_DBL(num(&c, row, "late_p999_ns"), ==, (double)s.p999);
    ASSERT_DBL(num(&c, row, "missed_periods"), ==, (double)missed);
    ASSERT_DBL(num(&c, row, "cpu_percent"), ==, r->cpu_percent);
    ASSERT_DBL(num(&c, row, "pss_mb") * 1024, ==, r->pss_kb);
    /* what the baseline does not have is an empty cell, not a 0 or a "-" */
    static const char *const none[] = { "repeat", "chain_p50_ns", "chain_p99_ns", "chain_max_ns", "chain_lost",
                                        "rate_per_s", "rate_count" };
    for (int k = 0; k < 7; k++)
      ASSERT_STR(cell(&c, row, none[k]), "");
    ASSERT_STR(cell(&c, row, "status"), "ok");
    ASSERT_STR(cell(&c, row, "verdict"), "no requirements");
    ab_result_free(r);
  }
  free(text);
  cleanup_now();
}

/* A result whose scenario name holds a quote and whose failed requirements make a list. */
static ab_result_t *odd_result(void)
{
  const char *text =
      "{\"schema\":\"archbench-result/1\",\"scenario\":\"q\\\"s\",\"arch\":\"threads\",\"transport\":\"ring\","
      "\"status\":\"ok\",\"error\":null,\"started_at\":\"t\",\"duration_s\":1,\"metrics\":{},\"counters\":{},"
      "\"resources\":{\"total\":{\"rss_kb\":1,\"pss_kb\":2048},\"cpu_percent\":12.5},\"requirements\":["
      "{\"name\":\"a\",\"op\":\"<=\",\"limit\":1,\"value\":2,\"pass\":false},"
      "{\"name\":\"b\",\"op\":\"<=\",\"limit\":1,\"value\":3,\"pass\":false}]}";
  char err[256];
  ab_result_t *r = ab_result_parse(json_loads(text, 0, NULL), err, sizeof err);
  if (!r)
    AB_FAIL("the test's result refused: %s", err);
  return r;
}

TEST(summary_csv_quotes_a_field_holding_a_comma_or_a_quote)
{
  ab__table_t tb = { 0 };
  ab_result_t *r = odd_result();
  ab_table_add(&tb, r);
  ab_result_free(r);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ab_table_csv(&tb, f);
  fclose(f);
  ASSERT_CONTAINS(buf, "\r\n\"q\"\"s\",threads,");
  ASSERT_CONTAINS(buf, ",\"FAIL: a, b\"\r\n");
  static csv_t c;
  csv_parse(buf, &c);
  ASSERT_EQ(c.nrows, 2);
  ASSERT_STR(cell(&c, 1, "scenario"), "q\"s");
  ASSERT_STR(cell(&c, 1, "verdict"), "FAIL: a, b");
  ASSERT_DBL(num(&c, 1, "cpu_percent"), ==, 12.5);
  ASSERT_DBL(num(&c, 1, "pss_mb"), ==, 2);
  ASSERT_STR(cell(&c, 1, "late_p50_ns"), ""); /* an unknown scenario: no table role */
  ASSERT_STR(cell(&c, 1, "missed_periods"), "");
  free(buf);
  free(tb.rows);
}
