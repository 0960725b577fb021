/* Fuzz target: the SCPI parser (hw/scpi.c) on any bytes as one program message, and its
 * reply readers (blocks, number lists) on the same bytes. These must hold:
 *   - no crash, no read outside the input (ASan), no undefined behaviour (UBSan);
 *   - a refusal says why (a non-empty message), an acceptance gives 0..max commands, each
 *     header 1..AB_SCPI_MAX_NODES upper-case mnemonics, each block inside the input;
 *   - what is accepted, written back canonically (rooted long headers as parsed, numbers in
 *     base units with %.17g, strings re-quoted, blocks re-counted), parses again to the same
 *     commands: the parser reads what it says it read;
 *   - a block read says a length that fits the input; a number list counts no more numbers
 *     than the input has bytes.
 */
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scpi.h"

static ab_scpi_cmd_t a[AB_SCPI_MAX_CMDS], b[AB_SCPI_MAX_CMDS];
static char out[8 * AB_SCPI_LINE_MAX + 1024];

static size_t put(size_t k, const char *s, size_t n)
{
  assert(k + n < sizeof out);
  memcpy(out + k, s, n);
  return k + n;
}

static size_t canon(const ab_scpi_cmd_t *c, int n)
{
  size_t k = 0;
  char num[64];
  for (int i = 0; i < n; i++) {
    k = put(k, i ? ";" : "", i ? 1 : 0);
    k = put(k, c[i].common ? "*" : ":", 1);
    for (int j = 0; j < c[i].nnodes; j++) {
      k = put(k, ":", j ? 1 : 0);
      k = put(k, c[i].node[j], strlen(c[i].node[j]));
    }
    k = put(k, "?", c[i].query);
    for (int p = 0; p < c[i].nparams; p++) {
      const ab_scpi_param_t *q = &c[i].param[p];
      k = put(k, p ? "," : " ", 1);
      if (q->type == AB_SCPI_NUM)
        k = put(k, num, (size_t)snprintf(num, sizeof num, "%.17g", q->num));
      else if (q->type == AB_SCPI_WORD)
        k = put(k, q->text, strlen(q->text));
      else if (q->type == AB_SCPI_STR) {
        k = put(k, "\"", 1);
        for (const char *t = q->text; *t; t++)
          k = *t == '"' ? put(k, "\"\"", 2) : put(k, t, 1);
        k = put(k, "\"", 1);
      } else {
        k = put(k, num, (size_t)snprintf(num, sizeof num, "#9%09zu", q->block_len));
        k = put(k, q->block, q->block_len);
      }
    }
  }
  return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  char err[200];
  int n = ab_scpi_parse(s, size, a, AB_SCPI_MAX_CMDS, err, sizeof err);
  if (n < 0)
    assert(err[0]);
  assert(n <= AB_SCPI_MAX_CMDS);
  for (int i = 0; i < n; i++) {
    assert(a[i].nnodes >= 1 && a[i].nnodes <= AB_SCPI_MAX_NODES);
    for (int j = 0; j < a[i].nnodes; j++) {
      assert(a[i].node[j][0]);
      for (const char *t = a[i].node[j]; *t; t++)
        assert(isupper((unsigned char)*t) || isdigit((unsigned char)*t) || *t == '_');
    }
    for (int p = 0; p < a[i].nparams; p++)
      if (a[i].param[p].type == AB_SCPI_BLOCK)
        assert(a[i].param[p].block >= s && a[i].param[p].block + a[i].param[p].block_len <= s + size);
      else if (a[i].param[p].type == AB_SCPI_NUM)
        assert(isfinite(a[i].param[p].num));
  }
  if (n > 0) {
    size_t k = canon(a, n);
    if (k <= AB_SCPI_LINE_MAX) {
      int m = ab_scpi_parse(out, k, b, AB_SCPI_MAX_CMDS, err, sizeof err);
      if (m != n)
        fprintf(stderr, "canonical \"%.*s\": %d commands, was %d (%s)\n", (int)k, out, m, n, err);
      assert(m == n);
      for (int i = 0; i < n; i++) {
        assert(a[i].common == b[i].common && a[i].query == b[i].query && a[i].nnodes == b[i].nnodes);
        for (int j = 0; j < a[i].nnodes; j++)
          assert(!strcmp(a[i].node[j], b[i].node[j]));
        assert(a[i].nparams == b[i].nparams);
        for (int p = 0; p < a[i].nparams; p++) {
          const ab_scpi_param_t *x = &a[i].param[p], *y = &b[i].param[p];
          assert(x->type == y->type);
          if (x->type == AB_SCPI_NUM)
            assert(x->num == y->num);
          else if (x->type == AB_SCPI_BLOCK)
            assert(x->block_len == y->block_len && !memcmp(x->block, y->block, x->block_len));
          else
            assert(!strcmp(x->text, y->text));
        }
      }
    }
  }
  const char *d;
  size_t dl, used;
  if (ab_scpi_block(s, size, 1 << 20, &d, &dl, &used) == 1)
    assert(used <= size && d + dl == s + used);
  float f[8];
  assert(ab_scpi_floats(s, size, f, 8) <= (int)size);
  double v;
  ab_scpi_number(s, size, &v, NULL, err, sizeof err);
  return 0;
}
