/* The mock instrument behind the instrument device (instrument.h): hw/instrument.c forks it
 * as the "instrument-mock" helper on its listening socket; it counts what it saw in the
 * shared truth (instrument_impl.h).
 *
 * One thread, one connection at a time, as an instrument's SCPI server. Every wait (a
 * command's service time, an acquisition the instrument must finish first, a reply's pacing
 * on the link) polls the listening socket, so that a second client is refused while the
 * first is being served, not once it has left. Messages are read a line at a time and their
 * commands executed in order; the replies of a message's queries go out as one line, joined
 * by ';', paced at the link rate (a reply of B bytes is not all there before B*8/link).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "instrument_impl.h"
#include "scpi.h"

#define AB__ERRQ 16
#define AB__FS (125e6 / 1024) /* sample rate at decimation 1024, as Red Pitaya's ACQ:DEC 1024 */

typedef struct ab__mock {
  int lfd, fd;
  ab__in_truth_t *tr;
  ab_instr_cfg_t cfg;   /* as at this connection's start */
  char in[AB_SCPI_LINE_MAX + 2];
  size_t inlen;
  int skipping;         /* discarding the rest of an overlong line */
  /* the instrument */
  int armed, bin;
  int64_t acq_end;      /* 0: no acquisition; else when the triggered one is done */
  double freq[2], volt[2], setp[4], iqf[4];
  int out[2];
  int errq[AB__ERRQ], nerr;
  char *reply;          /* this message's replies */
  size_t rlen, rcap;
} ab__mock_t;

static void ab__add(uint64_t *c, uint64_t n) { __atomic_add_fetch(c, n, __ATOMIC_RELEASE); }

static void ab__push_err(ab__mock_t *m, int code)
{
  ab__add(&m->tr->errors, 1);
  if (m->nerr < AB__ERRQ)
    m->errq[m->nerr++] = code;
  else
    m->errq[AB__ERRQ - 1] = -350; /* Queue overflow */
}

/* Refuse every connection waiting on the listening socket: accepted, closed, counted. */
static void ab__refuse(ab__mock_t *m)
{
  for (;;) {
    int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    close(fd);
    ab__add(&m->tr->refusals, 1);
  }
}

/* Until t (CLOCK_MONOTONIC), refusing connections meanwhile. */
static void ab__wait_until(ab__mock_t *m, int64_t t)
{
  for (int64_t now; (now = ab_now_ns()) < t;) {
    struct pollfd pf = { .fd = m->lfd, .events = POLLIN };
    struct timespec ts = ab_ts(t - now);
    if (ppoll(&pf, 1, &ts, NULL) > 0)
      ab__refuse(m);
  }
}

static void ab__serve_for(ab__mock_t *m, int64_t ns)
{
  int64_t t0 = ab_now_ns();
  ab__wait_until(m, t0 + ns);
  __atomic_add_fetch(&m->tr->served_ns, ab_now_ns() - t0, __ATOMIC_RELEASE);
}

/* In serial mode the instrument does nothing else until a triggered acquisition is done. */
static void ab__busy(ab__mock_t *m)
{
  if (m->acq_end && m->cfg.mode == AB_INSTR_SERIAL)
    ab__wait_until(m, m->acq_end);
}

/* Append bytes to this message's replies as they are. */
static void ab__raw(ab__mock_t *m, const char *s, size_t n)
{
  if (m->rlen + n + 2 > m->rcap) {
    size_t cap = (m->rlen + n + 2) * 2;
    char *nb = realloc(m->reply, cap);
    if (!nb)
      return; /* the reply is cut short: the client sees a malformed one */
    m->reply = nb, m->rcap = cap;
  }
  memcpy(m->reply + m->rlen, s, n);
  m->rlen += n;
}

/* One query's reply: after the message's others, ';' between. */
static void ab__out(ab__mock_t *m, const char *s, size_t n)
{
  if (m->rlen)
    ab__raw(m, ";", 1);
  ab__raw(m, s, n);
}

static void ab__outf(ab__mock_t *m, const char *fmt, double v)
{
  char b[64];
  int n = snprintf(b, sizeof b, fmt, v);
  ab__out(m, b, (size_t)n);
}

/* The acquired trace: the generator's sine at its frequency and amplitude, as channel 1
 * would see output 1 looped back (silence while the output is off). */
static void ab__data(ab__mock_t *m)
{
  int n = m->cfg.samples;
  double f = m->freq[0], a = m->out[0] ? m->volt[0] : 0;
  if (m->bin) {
    char hdr[16];
    size_t len = (size_t)n * 4;
    int h = snprintf(hdr, sizeof hdr, "#%d%zu", (int)snprintf(NULL, 0, "%zu", len), len);
    char *blk = malloc(len);
    if (!blk)
      return;
    for (int i = 0; i < n; i++) {
      float v = (float)(a * sin(2 * M_PI * f * i / AB__FS));
      uint32_t u;
      memcpy(&u, &v, 4);
      u = __builtin_bswap32(u); /* big-endian, as Red Pitaya's BIN */
      memcpy(blk + 4 * i, &u, 4);
    }
    ab__out(m, hdr, (size_t)h);
    ab__raw(m, blk, len);
    free(blk);
    return;
  }
  size_t cap = (size_t)n * 12 + 4, k = 0;
  char *s = malloc(cap);
  if (!s)
    return;
  s[k++] = '{';
  for (int i = 0; i < n; i++)
    k += (size_t)snprintf(s + k, cap - k, "%s%.4f", i ? "," : "", a * sin(2 * M_PI * f * i / AB__FS));
  s[k++] = '}';
  ab__out(m, s, k);
  free(s);
}

/* A numeric parameter at p, or an error queued (-109 missing, -224 not a number). */
static int ab__num(ab__mock_t *m, const ab_scpi_cmd_t *c, double *v)
{
  if (c->nparams < 1) {
    ab__push_err(m, -109);
    return -1;
  }
  if (c->param[0].type != AB_SCPI_NUM) {
    ab__push_err(m, -224);
    return -1;
  }
  *v = c->param[0].num;
  return 0;
}

/* A setter or query on a double cell: "HEADER <v>" or "HEADER?". */
static void ab__cell(ab__mock_t *m, const ab_scpi_cmd_t *c, double *cell, double lo, double hi)
{
  ab__busy(m);
  ab__serve_for(m, m->cfg.set_ns);
  if (c->query) {
    ab__outf(m, "%.10g", *cell);
    return;
  }
  double v;
  if (ab__num(m, c, &v) == 0) {
    if (v < lo || v > hi)
      ab__push_err(m, -222); /* Data out of range */
    else
      *cell = v;
  }
}

static void ab__exec(ab__mock_t *m, const ab_scpi_cmd_t *c)
{
  int sx[4] = { 1, 1, 1, 1 };
  ab__add(&m->tr->commands, 1);
  if (c->query)
    ab__add(&m->tr->queries, 1);
  if (ab_scpi_match(c, "*IDN", NULL) && c->query) {
    ab__busy(m);
    ab__out(m, "ARCHBENCH,mock-scpi,0,1.0", 25);
  } else if (ab_scpi_match(c, "*RST", NULL)) {
    ab__busy(m);
    m->armed = 0, m->acq_end = 0, m->bin = 0;
    m->freq[0] = m->freq[1] = 1000, m->volt[0] = m->volt[1] = 1, m->out[0] = m->out[1] = 0;
  } else if (ab_scpi_match(c, "*CLS", NULL)) {
    m->nerr = 0;
  } else if (ab_scpi_match(c, "*OPC", NULL) && c->query) {
    if (m->acq_end) /* the pending operation: the acquisition */
      ab__wait_until(m, m->acq_end);
    ab__out(m, "1", 1);
  } else if (ab_scpi_match(c, "SYSTem:ERRor", NULL) && c->query) {
    static const struct { int code; const char *text; } txt[] = {
      { -102, "Syntax error" }, { -109, "Missing parameter" }, { -113, "Undefined header" },
      { -221, "Settings conflict" }, { -222, "Data out of range" }, { -223, "Too much data" },
      { -224, "Illegal parameter value" }, { -350, "Queue overflow" },
    };
    int code = m->nerr ? m->errq[0] : 0;
    const char *t = "No error";
    for (size_t i = 0; i < sizeof txt / sizeof *txt; i++)
      if (txt[i].code == code)
        t = txt[i].text;
    if (m->nerr)
      memmove(m->errq, m->errq + 1, (size_t)--m->nerr * sizeof *m->errq);
    char b[64];
    int n = snprintf(b, sizeof b, "%d,\"%s\"", code, t);
    ab__out(m, b, (size_t)n);
  } else if (ab_scpi_match(c, "ACQuire:STARt", NULL)) {
    ab__busy(m);
    m->armed = 1, m->acq_end = 0;
  } else if (ab_scpi_match(c, "ACQuire:STOP", NULL)) {
    ab__busy(m);
    m->armed = 0;
  } else if (ab_scpi_match(c, "ACQuire:TRIGger", NULL) && !c->query) {
    ab__busy(m);
    if (!m->armed)
      ab__push_err(m, -221); /* a trigger without ACQ:START */
    else if (c->nparams != 1 || c->param[0].type != AB_SCPI_WORD)
      ab__push_err(m, c->nparams ? -224 : -109);
    else {
      m->armed = 0;
      m->acq_end = ab_now_ns() + m->cfg.acq_ns;
      ab__add(&m->tr->acquisitions, 1);
    }
  } else if (ab_scpi_match(c, "ACQuire:TRIGger:STATe", NULL) && c->query) {
    ab__busy(m);
    int done = !m->acq_end || ab_now_ns() >= m->acq_end;
    ab__out(m, done ? "TD" : "WAIT", done ? 2 : 4);
  } else if (ab_scpi_match(c, "ACQuire:DATA:FORMat", NULL)) {
    ab__busy(m);
    if (c->query)
      ab__out(m, m->bin ? "BIN" : "ASCII", m->bin ? 3 : 5);
    else if (c->nparams == 1 && c->param[0].type == AB_SCPI_WORD &&
             (!strcmp(c->param[0].text, "BIN") || !strcmp(c->param[0].text, "ASCII")))
      m->bin = !strcmp(c->param[0].text, "BIN");
    else
      ab__push_err(m, -224);
  } else if (ab_scpi_match(c, "ACQuire:SOURce#:DATA", sx) && c->query && sx[0] >= 1 && sx[0] <= 2) {
    if (m->acq_end)
      ab__wait_until(m, m->acq_end); /* the data of an acquisition still running waits for it */
    m->acq_end = 0;
    ab__data(m);
  } else if (ab_scpi_match(c, "SOURce#:FREQuency:FIXed", sx) && sx[0] >= 1 && sx[0] <= 2) {
    ab__cell(m, c, &m->freq[sx[0] - 1], 0, 62.5e6);
  } else if (ab_scpi_match(c, "SOURce#:VOLTage", sx) && sx[0] >= 1 && sx[0] <= 2) {
    ab__cell(m, c, &m->volt[sx[0] - 1], -1, 1);
  } else if (ab_scpi_match(c, "OUTPUT#:STATe", sx) && sx[0] >= 1 && sx[0] <= 2) {
    ab__busy(m);
    ab__serve_for(m, m->cfg.set_ns);
    if (c->query)
      ab__out(m, m->out[sx[0] - 1] ? "ON" : "OFF", m->out[sx[0] - 1] ? 2 : 3);
    else if (c->nparams == 1 && c->param[0].type == AB_SCPI_WORD &&
             (!strcmp(c->param[0].text, "ON") || !strcmp(c->param[0].text, "OFF")))
      m->out[sx[0] - 1] = !strcmp(c->param[0].text, "ON");
    else
      ab__push_err(m, -224);
  } else if (!(m->cfg.reject & AB_INSTR_REJECT_PID) && ab_scpi_match(c, "PID#:SETPoint", sx) && sx[0] >= 1 &&
             sx[0] <= 4) {
    ab__cell(m, c, &m->setp[sx[0] - 1], -1, 1);
  } else if (!(m->cfg.reject & AB_INSTR_REJECT_IQ) && ab_scpi_match(c, "IQ#:FREQuency", sx) && sx[0] >= 1 &&
             sx[0] <= 4) {
    ab__cell(m, c, &m->iqf[sx[0] - 1], 0, 62.5e6);
  } else {
    ab__push_err(m, -113);
  }
}

/* The message's replies, paced: the line leaves in chunks, each not before its share of the
 * link's time. 0, or -1 if the client has gone. */
static int ab__send_paced(ab__mock_t *m)
{
  if (!m->rlen)
    return 0;
  ab__raw(m, "\n", 1);
  int64_t t0 = ab_now_ns();
  const size_t chunk = 16384;
  for (size_t off = 0; off < m->rlen;) {
    size_t n = m->rlen - off < chunk ? m->rlen - off : chunk;
    int64_t due = t0 + (int64_t)((double)(off + n) * 8e9 / m->cfg.link_bps);
    ab__wait_until(m, due);
    for (size_t w = 0; w < n;) {
      ssize_t r = send(m->fd, m->reply + off + w, n - w, MSG_NOSIGNAL);
      if (r > 0)
        w += (size_t)r;
      else if (r < 0 && errno == EAGAIN) {
        struct pollfd pf[2] = { { .fd = m->fd, .events = POLLOUT }, { .fd = m->lfd, .events = POLLIN } };
        if (poll(pf, 2, 1000) > 0 && (pf[1].revents & POLLIN))
          ab__refuse(m);
      } else if (r < 0 && errno == EINTR)
        continue;
      else
        return -1;
    }
    off += n;
  }
  ab__add(&m->tr->bytes_out, m->rlen);
  __atomic_add_fetch(&m->tr->served_ns, ab_now_ns() - t0, __ATOMIC_RELEASE);
  m->rlen = 0;
  return 0;
}

static int ab__message(ab__mock_t *m, const char *line, size_t len)
{
  static ab_scpi_cmd_t cmds[AB_SCPI_MAX_CMDS];
  char err[160];
  if (len && line[len - 1] == '\r')
    len--;
  ab__add(&m->tr->messages, 1);
  if (len > AB_SCPI_LINE_MAX) /* one that just fit the buffer is as overlong as the rest */
    ab__add(&m->tr->overlong, 1);
  int n = ab_scpi_parse(line, len, cmds, AB_SCPI_MAX_CMDS, err, sizeof err);
  if (n < 0) {
    ab__push_err(m, n == -E2BIG ? -223 : -102);
    return 0;
  }
  m->rlen = 0;
  for (int i = 0; i < n; i++)
    ab__exec(m, &cmds[i]);
  return ab__send_paced(m);
}

/* Serve one connection until it closes. */
static void ab__serve(ab__mock_t *m)
{
  m->cfg = m->tr->cfg;
  m->inlen = 0, m->skipping = 0, m->nerr = 0, m->armed = 0, m->acq_end = 0, m->bin = 0;
  m->freq[0] = m->freq[1] = 1000, m->volt[0] = m->volt[1] = 1, m->out[0] = 1, m->out[1] = 0;
  for (;;) {
    struct pollfd pf[2] = { { .fd = m->fd, .events = POLLIN }, { .fd = m->lfd, .events = POLLIN } };
    if (poll(pf, 2, -1) < 0 && errno != EINTR)
      return;
    /* The client first: one that has closed makes way for the one knocking. */
    ssize_t got = pf[0].revents ? recv(m->fd, m->in + m->inlen, sizeof m->in - m->inlen, 0) : -1;
    if (got == 0 || (got < 0 && pf[0].revents && errno != EAGAIN && errno != EINTR))
      return;
    if (pf[1].revents & POLLIN)
      ab__refuse(m);
    if (got < 0)
      continue;
    m->inlen += (size_t)got;
    for (;;) {
      char *nl = memchr(m->in, '\n', m->inlen);
      if (!nl) {
        if (m->inlen == sizeof m->in) { /* overlong: refused, the rest of it skipped */
          if (!m->skipping) {
            ab__add(&m->tr->overlong, 1);
            ab__push_err(m, -223);
          }
          m->skipping = 1;
          m->inlen = 0;
        }
        break;
      }
      size_t n = (size_t)(nl - m->in);
      int r = m->skipping ? 0 : ab__message(m, m->in, n);
      m->skipping = 0;
      memmove(m->in, nl + 1, m->inlen - n - 1);
      m->inlen -= n + 1;
      if (r < 0)
        return;
    }
  }
}

int ab__instr_mock_run(int lfd, ab__in_truth_t *tr)
{
  static ab__mock_t m;
  m.lfd = lfd, m.tr = tr, m.fd = -1;
  if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) < 0)
    return 1;
  for (;;) {
    struct pollfd pf = { .fd = lfd, .events = POLLIN };
    if (poll(&pf, 1, -1) < 0 && errno != EINTR)
      return 1;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
        continue;
      return 1;
    }
    ab__add(&tr->connections, 1);
    int one = 1; /* replies leave as they are paced, not held for an ACK (Nagle) */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    m.fd = fd;
    ab__serve(&m);
    close(fd);
    m.fd = -1;
  }
}
