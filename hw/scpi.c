/* The SCPI parser (scpi.h): program messages for the mock instrument, blocks and number lists
 * for the controller. A cursor walks the line once; every refusal says where and what was
 * expected, so that an instrument's SYST:ERR? text and a test can name it.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpi.h"

typedef struct ab__cur {
  const char *s;
  size_t i, n;
  char *err;
  size_t errlen;
} ab__cur_t;

static int ab__fail(ab__cur_t *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ab__fail(ab__cur_t *c, int rc, const char *fmt, ...)
{
  if (c->err && c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t)k < c->errlen)
      snprintf(c->err + k, c->errlen - (size_t)k, " at column %zu", c->i + 1);
  }
  return rc;
}

static int ab__peek(const ab__cur_t *c) { return c->i < c->n ? (unsigned char)c->s[c->i] : -1; }

/* IEEE 488.2 white space: the control characters and space, but the terminator. */
static void ab__ws(ab__cur_t *c)
{
  while (c->i < c->n && (unsigned char)c->s[c->i] <= ' ' && c->s[c->i] != '\n')
    c->i++;
}

/* ---- numbers ------------------------------------------------------------------------------ */

static const struct { const char *name; double mult; } ab__mults[] = {
  { "EX", 1e18 }, { "PE", 1e15 }, { "T", 1e12 }, { "G", 1e9 }, { "MA", 1e6 }, { "K", 1e3 },
  { "M", 1e-3 }, { "U", 1e-6 }, { "N", 1e-9 }, { "P", 1e-12 }, { "F", 1e-15 }, { "A", 1e-18 },
};
static const char *const ab__units[] = { "HZ", "V", "S", "A", "OHM", "DB", "DEG", "PCT", "W" };

/* A suffix (upper case, no space): 0 with the multiplier and unit, else -EINVAL. */
static int ab__suffix(const char *sfx, double *mult, char unit[8])
{
  *mult = 1;
  unit[0] = 0;
  if (!*sfx)
    return 0;
  if (!strcmp(sfx, "MHZ") || !strcmp(sfx, "MOHM")) { /* SCPI's two exceptions: mega */
    *mult = 1e6;
    snprintf(unit, 8, "%s", sfx + 1);
    return 0;
  }
  for (size_t u = 0; u < sizeof ab__units / sizeof *ab__units; u++) {
    size_t ul = strlen(ab__units[u]), sl = strlen(sfx);
    if (sl < ul || strcmp(sfx + sl - ul, ab__units[u]))
      continue;
    if (sl == ul) {
      snprintf(unit, 8, "%s", ab__units[u]);
      return 0;
    }
    for (size_t m = 0; m < sizeof ab__mults / sizeof *ab__mults; m++)
      if (strlen(ab__mults[m].name) == sl - ul && !strncmp(sfx, ab__mults[m].name, sl - ul)) {
        *mult = ab__mults[m].mult;
        snprintf(unit, 8, "%s", ab__units[u]);
        return 0;
      }
  }
  for (size_t m = 0; m < sizeof ab__mults / sizeof *ab__mults; m++) /* a bare multiplier: "1.5K" */
    if (!strcmp(sfx, ab__mults[m].name)) {
      *mult = ab__mults[m].mult;
      return 0;
    }
  return -EINVAL;
}

/* A decimal mantissa and exponent at the cursor (SCPI's <NRf>): 0 with *v, else -EINVAL. */
static int ab__decimal(ab__cur_t *c, double *v)
{
  size_t start = c->i;
  int digits = 0;
  if (ab__peek(c) == '+' || ab__peek(c) == '-')
    c->i++;
  while (isdigit(ab__peek(c)))
    c->i++, digits++;
  if (ab__peek(c) == '.')
    for (c->i++; isdigit(ab__peek(c)); c->i++)
      digits++;
  if (!digits)
    return ab__fail(c, -EINVAL, "expected a number");
  size_t mant_end = c->i;
  ab__ws(c);
  if (ab__peek(c) == 'e' || ab__peek(c) == 'E') {
    size_t e = c->i + 1, k = e;
    while (k < c->n && c->s[k] <= ' ' && c->s[k] != '\n')
      k++;
    if (k < c->n && (c->s[k] == '+' || c->s[k] == '-'))
      k++;
    if (k < c->n && isdigit((unsigned char)c->s[k])) {
      while (k < c->n && isdigit((unsigned char)c->s[k]))
        k++;
      mant_end = c->i = k;
    } else
      c->i = mant_end; /* an 'E' that begins a suffix ("1EX" is not one, but "2E" may be a word) */
  } else
    c->i = mant_end;
  char buf[64];
  size_t k = 0;
  for (size_t j = start; j < mant_end && k + 1 < sizeof buf; j++)
    if ((unsigned char)c->s[j] > ' ')
      buf[k++] = c->s[j];
  if (k + 1 >= sizeof buf)
    return ab__fail(c, -E2BIG, "a number of over %zu characters", sizeof buf - 2);
  buf[k] = 0;
  char *end;
  *v = strtod(buf, &end);
  if (*end || !isfinite(*v))
    return ab__fail(c, -EINVAL, "number '%s' out of range", buf);
  return 0;
}

/* #H, #Q, #B: a non-decimal integer (the '#' already taken). */
static int ab__nondecimal(ab__cur_t *c, double *v)
{
  int ch = toupper(ab__peek(c)), base = ch == 'H' ? 16 : ch == 'Q' ? 8 : ch == 'B' ? 2 : 0;
  if (!base)
    return ab__fail(c, -EINVAL, "'#%c': expected #H, #Q or #B (or a block's length digit)", ch < 0 ? ' ' : ch);
  c->i++;
  double x = 0;
  int digits = 0;
  for (;; c->i++, digits++) {
    int d = ab__peek(c);
    d = isdigit(d) ? d - '0' : isalpha(d) ? toupper(d) - 'A' + 10 : 99;
    if (d >= base)
      break;
    x = x * base + d;
  }
  if (!digits || x > 9007199254740992.0) /* 2^53: exact in a double */
    return ab__fail(c, -EINVAL, "%s non-decimal number", digits ? "an overlong" : "an empty");
  *v = x;
  return 0;
}

int ab_scpi_number(const char *s, size_t len, double *v, char *unit, char *err, size_t errlen)
{
  ab__cur_t c = { s, 0, len, err, errlen };
  char u[8];
  ab__ws(&c);
  int r = ab__decimal(&c, v);
  if (r < 0)
    return r;
  ab__ws(&c);
  char sfx[16];
  size_t k = 0;
  while (isalpha(ab__peek(&c)) && k + 1 < sizeof sfx)
    sfx[k++] = (char)toupper(s[c.i++]);
  sfx[k] = 0;
  ab__ws(&c);
  double mult;
  if (c.i < c.n || ab__suffix(sfx, &mult, u) < 0)
    return ab__fail(&c, -EINVAL, "bad suffix '%.*s' (expected a unit such as HZ, V or S, with a multiplier such as K, M or U)",
                    (int)(len > 32 ? 32 : len), s);
  *v *= mult;
  if (unit)
    memcpy(unit, u, sizeof u);
  return 0;
}

/* ---- blocks ------------------------------------------------------------------------------- */

int ab_scpi_block(const char *buf, size_t len, size_t max, const char **data, size_t *dlen, size_t *used)
{
  if (len < 1)
    return 0;
  if (buf[0] != '#')
    return -EINVAL;
  if (len < 2)
    return 0;
  if (buf[1] < '1' || buf[1] > '9') /* "#0" is indefinite: its end cannot be told */
    return -EINVAL;
  size_t nd = (size_t)(buf[1] - '0'), n = 0;
  if (len < 2 + nd)
    return 0;
  for (size_t j = 0; j < nd; j++) {
    if (!isdigit((unsigned char)buf[2 + j]))
      return -EINVAL;
    n = n * 10 + (size_t)(buf[2 + j] - '0');
  }
  if (n > max)
    return -EINVAL;
  if (len < 2 + nd + n)
    return 0;
  *data = buf + 2 + nd;
  *dlen = n;
  *used = 2 + nd + n;
  return 1;
}

int ab_scpi_floats(const char *s, size_t len, float *out, int max)
{
  size_t i = 0;
  while (i < len && (unsigned char)s[i] <= ' ')
    i++;
  int brace = i < len && s[i] == '{';
  i += (size_t)brace;
  int n = 0;
  for (;;) {
    ab__cur_t c = { s, i, len, NULL, 0 };
    ab__ws(&c);
    double v;
    if (ab__decimal(&c, &v) < 0)
      return -EINVAL;
    if (n < max)
      out[n] = (float)v;
    n++;
    ab__ws(&c);
    i = c.i;
    if (i < len && s[i] == ',') {
      i++;
      continue;
    }
    if (brace && !(i < len && s[i] == '}'))
      return -EINVAL;
    i += (size_t)brace;
    while (i < len && (unsigned char)s[i] <= ' ')
      i++;
    return i == len ? n : -EINVAL;
  }
}

/* ---- program messages --------------------------------------------------------------------- */

static int ab__param(ab__cur_t *c, ab_scpi_param_t *p)
{
  memset(p, 0, sizeof *p);
  int ch = ab__peek(c);
  if (ch == '\'' || ch == '"') { /* a string: a doubled quote is one */
    size_t k = 0;
    for (c->i++;; c->i++) {
      if (c->i >= c->n)
        return ab__fail(c, -EINVAL, "unterminated string (expected a closing %c)", ch);
      if (c->s[c->i] == ch) {
        if (c->i + 1 < c->n && c->s[c->i + 1] == ch)
          c->i++;
        else
          break;
      }
      if (k + 1 >= sizeof p->text)
        return ab__fail(c, -E2BIG, "a string of over %zu characters", sizeof p->text - 1);
      p->text[k++] = c->s[c->i];
    }
    c->i++;
    p->type = AB_SCPI_STR;
    return 0;
  }
  if (ch == '#') {
    int d = c->i + 1 < c->n ? (unsigned char)c->s[c->i + 1] : -1;
    if (isdigit(d)) {
      size_t used;
      int r = ab_scpi_block(c->s + c->i, c->n - c->i, AB_SCPI_LINE_MAX, &p->block, &p->block_len, &used);
      if (r <= 0)
        return ab__fail(c, -EINVAL, "%s block (expected #<n><length><bytes>, n 1-9)",
                        r == 0 ? "truncated" : "malformed");
      c->i += used;
      p->type = AB_SCPI_BLOCK;
      return 0;
    }
    c->i++;
    p->type = AB_SCPI_NUM;
    return ab__nondecimal(c, &p->num);
  }
  if (isdigit(ch) || ch == '+' || ch == '-' || ch == '.') {
    size_t start = c->i;
    int r = ab__decimal(c, &p->num);
    if (r < 0)
      return r;
    ab__ws(c);
    size_t s0 = c->i;
    while (isalpha(ab__peek(c)))
      c->i++;
    char sfx[16];
    if (c->i - s0 >= sizeof sfx)
      return ab__fail(c, -EINVAL, "bad suffix '%.*s' (expected a unit such as HZ, V or S)", (int)(c->i - s0 > 32 ? 32 : c->i - s0),
                      c->s + s0);
    for (size_t j = 0; j < c->i - s0; j++)
      sfx[j] = (char)toupper((unsigned char)c->s[s0 + j]);
    sfx[c->i - s0] = 0;
    double mult;
    if (ab__suffix(sfx, &mult, p->unit) < 0)
      return ab__fail(c, -EINVAL, "bad suffix '%s' after '%.*s' (expected a unit such as HZ, V or S, with a multiplier such as K, M or U)",
                      sfx, (int)(s0 - start > 32 ? 32 : s0 - start), c->s + start);
    p->num *= mult;
    if (!isfinite(p->num))
      return ab__fail(c, -EINVAL, "number out of range");
    p->type = AB_SCPI_NUM;
    return 0;
  }
  if (isalpha(ch)) { /* character data */
    size_t k = 0;
    while (isalnum(ab__peek(c)) || ab__peek(c) == '_') {
      if (k + 1 >= sizeof p->text)
        return ab__fail(c, -E2BIG, "a word of over %zu characters", sizeof p->text - 1);
      p->text[k++] = (char)toupper((unsigned char)c->s[c->i++]);
    }
    p->type = AB_SCPI_WORD;
    return 0;
  }
  return ab__fail(c, -EINVAL, ch < 0 ? "missing parameter" : "unexpected '%c' (expected a number, a string, a word or a block)",
                  ch);
}

/* One mnemonic at the cursor into node (upper case): letters, then digits, '_' allowed. */
static int ab__mnemonic(ab__cur_t *c, char node[AB_SCPI_NODE_MAX])
{
  size_t k = 0;
  if (!isalpha(ab__peek(c)))
    return ab__fail(c, -EINVAL, ab__peek(c) < 0 ? "missing header" : "'%c' where a header mnemonic was expected", ab__peek(c));
  while (isalnum(ab__peek(c)) || ab__peek(c) == '_') {
    if (k + 1 >= AB_SCPI_NODE_MAX)
      return ab__fail(c, -E2BIG, "a mnemonic of over %d characters", AB_SCPI_NODE_MAX - 1);
    node[k++] = (char)toupper((unsigned char)c->s[c->i++]);
  }
  node[k] = 0;
  return 0;
}

static int ab__command(ab__cur_t *c, ab_scpi_cmd_t *cmd, const ab_scpi_cmd_t *prev)
{
  int r;
  memset(cmd, 0, sizeof *cmd);
  ab__ws(c);
  if (ab__peek(c) == '*') {
    c->i++;
    cmd->common = 1;
    cmd->nnodes = 1;
    if ((r = ab__mnemonic(c, cmd->node[0])) < 0)
      return r;
  } else {
    int rooted = ab__peek(c) == ':';
    c->i += (size_t)rooted;
    if (!rooted && prev) /* relative to the previous command's path */
      for (int k = 0; k < prev->nnodes - 1; k++)
        memcpy(cmd->node[cmd->nnodes++], prev->node[k], AB_SCPI_NODE_MAX);
    for (;;) {
      if (cmd->nnodes == AB_SCPI_MAX_NODES)
        return ab__fail(c, -E2BIG, "a header of over %d nodes", AB_SCPI_MAX_NODES);
      if ((r = ab__mnemonic(c, cmd->node[cmd->nnodes])) < 0)
        return r;
      cmd->nnodes++;
      if (ab__peek(c) != ':')
        break;
      c->i++;
    }
  }
  if (ab__peek(c) == '?')
    c->i++, cmd->query = 1;
  int ch = ab__peek(c);
  if (ch < 0 || ch == ';')
    return 0;
  if (ch > ' ')
    return ab__fail(c, -EINVAL, "'%c' in a header (expected white space, ';' or the end)", ch);
  ab__ws(c);
  if (ab__peek(c) < 0 || ab__peek(c) == ';')
    return 0;
  for (;;) {
    if (cmd->nparams == AB_SCPI_MAX_PARAMS)
      return ab__fail(c, -E2BIG, "over %d parameters", AB_SCPI_MAX_PARAMS);
    if ((r = ab__param(c, &cmd->param[cmd->nparams])) < 0)
      return r;
    cmd->nparams++;
    ab__ws(c);
    ch = ab__peek(c);
    if (ch < 0 || ch == ';')
      return 0;
    if (ch != ',')
      return ab__fail(c, -EINVAL, "'%c' after a parameter (expected ',', ';' or the end)", ch);
    c->i++;
    ab__ws(c);
  }
}

int ab_scpi_parse(const char *line, size_t len, ab_scpi_cmd_t *cmds, int max, char *err, size_t errlen)
{
  ab__cur_t c = { line, 0, len, err, errlen };
  if (err && errlen)
    err[0] = 0;
  if (len > AB_SCPI_LINE_MAX)
    return ab__fail(&c, -E2BIG, "a line of %zu bytes (at most %d)", len, AB_SCPI_LINE_MAX);
  if (memchr(line, '\n', len))
    return ab__fail(&c, -EINVAL, "a terminator inside the message");
  ab__ws(&c);
  if (c.i == c.n)
    return 0;
  int n = 0, path = -1; /* the last command that was not a common one: it sets the path */
  for (;;) {
    if (n == max)
      return ab__fail(&c, -E2BIG, "over %d commands in one message", max);
    int r = ab__command(&c, &cmds[n], path >= 0 ? &cmds[path] : NULL);
    if (r < 0)
      return r;
    if (!cmds[n].common)
      path = n;
    n++;
    if (ab__peek(&c) < 0)
      return n;
    c.i++; /* ';' */
    ab__ws(&c);
    if (ab__peek(&c) < 0)
      return ab__fail(&c, -EINVAL, "';' with no command after it");
  }
}

/* ---- matching ----------------------------------------------------------------------------- */

/* Does the written node match the pattern's mnemonic (pat..pend, capitals the short form, a
 * trailing '#' allowing a numeric suffix)? */
static int ab__node_match(const char *node, const char *pat, size_t plen, int *suffix)
{
  int hash = plen && pat[plen - 1] == '#';
  plen -= (size_t)hash;
  size_t nl = strlen(node), digits = 0;
  while (digits < nl && isdigit((unsigned char)node[nl - 1 - digits]))
    digits++;
  if (digits && !hash)
    return 0;
  size_t base = nl - digits, shortlen = 0;
  for (size_t j = 0; j < plen; j++)
    shortlen += isupper((unsigned char)pat[j]) || isdigit((unsigned char)pat[j]);
  int ok = 0;
  if (base == plen) { /* the long form */
    ok = 1;
    for (size_t j = 0; j < plen && ok; j++)
      ok = toupper((unsigned char)pat[j]) == node[j];
  }
  if (!ok && base == shortlen) { /* the short form: the pattern's capitals */
    ok = 1;
    for (size_t j = 0, k = 0; j < plen && ok; j++)
      if (isupper((unsigned char)pat[j]) || isdigit((unsigned char)pat[j]))
        ok = pat[j] == node[k++];
  }
  if (!ok)
    return 0;
  if (hash && suffix) {
    long v = digits ? strtol(node + base, NULL, 10) : 1;
    *suffix = v > 0 && v < 1000000 ? (int)v : -1;
  }
  return 1;
}

int ab_scpi_match(const ab_scpi_cmd_t *cmd, const char *pattern, int *suffix)
{
  int common = pattern[0] == '*';
  if (common != cmd->common)
    return 0;
  const char *p = pattern + common;
  int k = 0, ns = 0;
  while (*p) {
    size_t l = strcspn(p, ":");
    if (k >= cmd->nnodes)
      return 0;
    int sv = 1;
    if (!ab__node_match(cmd->node[k], p, l, &sv))
      return 0;
    if (l && p[l - 1] == '#' && suffix)
      suffix[ns++] = sv;
    k++;
    p += l + (p[l] == ':');
  }
  return k == cmd->nnodes;
}
