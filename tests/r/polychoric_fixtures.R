# Reference values for popaudit.structure.polychoric from lavaan, polycor and psych.
#
# Usage:  Rscript tests/r/polychoric_fixtures.R [OUTDIR]
#         (default OUTDIR: tests/fixtures/polychoric, relative to the repository root)
#
# The script generates every data set itself (latent multivariate normal cut into
# ordered categories, set.seed per fixture), writes it as <name>.csv (items x1..xp,
# NA = missing, optional weight column w) and writes beside it:
#   fixtures.csv    one row per fixture: name, n, p, missing, weighted, description
#   refs.csv        fixture, package, item1, item2, rho, se  (se from polycor only)
#   thresholds.csv  fixture, package, item, index, tau
#   nearpd_in.csv / nearpd_out.csv   a non-PD matrix and Matrix::nearPD(corr = TRUE)
#
# References (all two-step: thresholds from the marginals, then rho by ML):
#   lavaan::lavCor   missing = "listwise" or "pairwise" as the fixture says; item
#                    thresholds from all valid answers; zero.add = c(0, 0) (lavaan's
#                    default adds .5 to a single empty cell of a 2 x 2 table; popaudit
#                    and polycor do not). Weighted fixtures go through lavData(...,
#                    sampling.weights = "w"), because lavCor() in lavaan 0.6-14 ignores
#                    sampling.weights given to it directly.
#   polycor::polychor(x, y, ML = FALSE, std.err = TRUE) per pair, with
#                    control = list(reltol = 1e-12) so BFGS converges tightly; polycor
#                    uses each pair's own table margins for thresholds (popaudit's
#                    thresholds = "pair") and has no weights.
#   psych::polychoric(correct = 0, smooth = FALSE, global = TRUE); with unequal numbers
#                    of categories psych switches to global = FALSE (pair thresholds).
#                    psych uses optimize() with its default tolerance (~1e-4), so it is
#                    compared more loosely. psych::tetrachoric(correct = .5) for the
#                    continuity-corrected fixture. psych's weighted thresholds ignore
#                    the weights, so weighted fixtures have no psych reference.

suppressPackageStartupMessages({
  library(MASS)
  library(lavaan)
  library(polycor)
  library(psych)
  library(Matrix)
})

args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else file.path("tests", "fixtures", "polychoric")
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

# ---------------------------------------------------------------------------------
# data generation
# ---------------------------------------------------------------------------------
make_data <- function(seed, n, R, cuts, miss = 0, weights = FALSE) {
  set.seed(seed)
  p <- ncol(R)
  z <- mvrnorm(n, rep(0, p), R)
  d <- data.frame(lapply(seq_len(p), function(j) findInterval(z[, j], cuts[[j]]) + 1L))
  names(d) <- paste0("x", seq_len(p))
  if (miss > 0) {
    for (j in seq_len(p)) d[runif(n) < miss, j] <- NA
  }
  if (weights) d$w <- round(exp(rnorm(n) / 2), 6)
  d
}

equi <- function(p, r) { R <- matrix(r, p, p); diag(R) <- 1; R }
toep <- function(rs) { p <- length(rs) + 1; R <- diag(p)
  for (i in 1:p) for (j in 1:p) if (i != j) R[i, j] <- rs[abs(i - j)]; R }

fixtures <- list(
  binary = list(desc = "tetrachoric: 4 binary items, skewed thresholds",
    data = make_data(101, 500, toep(c(.5, .3, -.2)),
                     list(-1.2, .3, .9, -.2))),
  cat3 = list(desc = "5 items with 3 categories",
    data = make_data(102, 1000, toep(c(.45, .3, .2, .1)),
                     rep(list(c(-.6, .7)), 5))),
  cat5_skew = list(desc = "6 items with 5 categories, strongly skewed thresholds",
    data = make_data(103, 2000, equi(6, .35),
                     list(c(-2.2, -1.6, -1, -.3), c(.5, 1.2, 1.8, 2.3), c(-1, -.3, .3, 1),
                          c(-2.4, -2, -1.5, -1), c(1, 1.5, 2, 2.5), c(-.2, .1, .4, .8)))),
  cat10 = list(desc = "5 items with 10 categories",
    data = make_data(104, 3000, toep(c(.6, .4, .25, .1)),
                     rep(list(qnorm(seq(.1, .9, by = .1)) + .2), 5))),
  mixed = list(desc = "items with 2, 3, 4, 7 and 10 categories",
    data = make_data(105, 800, equi(5, .4),
                     list(.2, c(-.5, .6), c(-1, 0, 1), qnorm((1:6) / 7), qnorm((1:9) / 10)))),
  emptycell = list(desc = "n = 200, strong association: pairs with empty cells",
    data = make_data(106, 200, toep(c(.85, .7)), rep(list(c(-1.3, -.3, .6)), 3))),
  highrho = list(desc = "rho near .95 (.95, .97, .93), 5 categories",
    data = make_data(107, 1000, matrix(c(1, .95, .93, .95, 1, .97, .93, .97, 1), 3),
                     rep(list(c(-1.2, -.4, .3, 1.1)), 3))),
  large = list(desc = "n = 20 000, 3 items with 5 categories",
    data = make_data(108, 20000, toep(c(.3, -.15)), rep(list(c(-1.5, -.5, .4, 1.3)), 3))),
  missing = list(desc = "15% missing completely at random per item, pairwise",
    data = make_data(109, 1500, toep(c(.5, .35, .2, .1)), rep(list(c(-1.1, -.2, .5, 1.4)), 5),
                     miss = .15), missing = "pairwise"),
  missing_listwise = list(desc = "the missing data set, listwise deletion",
    data = make_data(109, 1500, toep(c(.5, .35, .2, .1)), rep(list(c(-1.1, -.2, .5, 1.4)), 5),
                     miss = .15), missing = "listwise"),
  weighted = list(desc = "log-normal survey weights and 10% missing, pairwise (lavaan only)",
    data = make_data(110, 2000, toep(c(.55, .3, .15, .05)), rep(list(c(-.9, 0, .8)), 5),
                     miss = .10, weights = TRUE), missing = "pairwise"),
  tetra_correct = list(desc = "binary pair with an empty cell: psych::tetrachoric(correct = .5)",
    data = make_data(111, 300, matrix(c(1, .9, .9, 1), 2), list(-1.5, 1.2)))
)

# ---------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------
pairs_long <- function(M, fixture, package, se = NULL) {
  p <- ncol(M); out <- list()
  for (i in 1:(p - 1)) for (j in (i + 1):p) {
    out[[length(out) + 1]] <- data.frame(fixture = fixture, package = package,
      item1 = colnames(M)[i], item2 = colnames(M)[j], rho = M[i, j],
      se = if (is.null(se)) NA_real_ else se[i, j])
  }
  do.call(rbind, out)
}

th_long <- function(th, fixture, package) {
  # th: named vector "x1|t1" ... (lavaan) or matrix items x thresholds (psych)
  if (is.matrix(th)) {
    out <- list()
    for (i in seq_len(nrow(th))) {
      v <- th[i, ]; v <- v[is.finite(v)]
      out[[i]] <- data.frame(fixture = fixture, package = package, item = rownames(th)[i],
                             index = seq_along(v), tau = unname(v))
    }
    return(do.call(rbind, out))
  }
  nm <- strsplit(names(th), "|t", fixed = TRUE)
  data.frame(fixture = fixture, package = package, item = sapply(nm, `[`, 1),
             index = as.integer(sapply(nm, `[`, 2)), tau = unname(th))
}

refs <- list(); ths <- list(); meta <- list()
for (name in names(fixtures)) {
  fx <- fixtures[[name]]
  d <- fx$data
  miss <- if (is.null(fx$missing)) "listwise" else fx$missing
  weighted <- "w" %in% names(d)
  items <- setdiff(names(d), "w")
  write.csv(d, file.path(outdir, paste0(name, ".csv")), row.names = FALSE, na = "")
  meta[[name]] <- data.frame(name = name, n = nrow(d), p = length(items), missing = miss,
                             weighted = weighted, description = fx$desc)
  dl <- if (miss == "listwise") d[complete.cases(d[, items]), ] else d

  if (name != "tetra_correct") {
    # lavaan
    ld <- lavaan:::lavData(data = d, ov.names = items, ordered = items,
                           sampling.weights = if (weighted) "w" else NULL,
                           lavoptions = list(missing = miss,
                                             sampling.weights.normalization = "total"))
    fit <- lavCor(ld, missing = miss, output = "fit", zero.add = c(0, 0))
    R <- unclass(lavInspect(fit, "cor.ov"))
    refs[[length(refs) + 1]] <- pairs_long(R, name, "lavaan")
    ths[[length(ths) + 1]] <- th_long(lavInspect(fit, "th"), name, "lavaan")
  }
  if (!weighted && name != "tetra_correct") {
    # polycor, pair by pair (pairwise-complete within dl)
    p <- length(items)
    Rp <- diag(p); Sp <- matrix(0, p, p); dimnames(Rp) <- dimnames(Sp) <- list(items, items)
    for (i in 1:(p - 1)) for (j in (i + 1):p) {
      pc <- polychor(dl[[items[i]]], dl[[items[j]]], ML = FALSE, std.err = TRUE,
                     control = list(reltol = 1e-12))
      Rp[i, j] <- Rp[j, i] <- pc$rho
      Sp[i, j] <- Sp[j, i] <- sqrt(pc$var)
    }
    refs[[length(refs) + 1]] <- pairs_long(Rp, name, "polycor", Sp)
    # psych
    ps <- suppressWarnings(suppressMessages(
      polychoric(dl[, items], correct = 0, smooth = FALSE, global = TRUE, max.cat = 12,
                 progress = FALSE)))
    refs[[length(refs) + 1]] <- pairs_long(ps$rho, name, "psych")
    kk <- sapply(dl[, items], function(v) length(unique(na.omit(v))))
    if (length(unique(kk)) == 1) ths[[length(ths) + 1]] <- th_long(ps$tau, name, "psych")
  }
  if (name == "tetra_correct") {
    x <- as.matrix(dl[, items]) - 1
    tc <- suppressWarnings(suppressMessages(
      tetrachoric(x, correct = .5, smooth = FALSE)))
    refs[[length(refs) + 1]] <- pairs_long(tc$rho, name, "psych_tetrachoric_correct0.5")
  }
}

write.csv(do.call(rbind, meta), file.path(outdir, "fixtures.csv"), row.names = FALSE)
write.csv(do.call(rbind, refs), file.path(outdir, "refs.csv"), row.names = FALSE)
write.csv(do.call(rbind, ths), file.path(outdir, "thresholds.csv"), row.names = FALSE)

# ---------------------------------------------------------------------------------
# nearest correlation matrix (pd_repair = "nearest")
# ---------------------------------------------------------------------------------
A <- matrix(c(1, .9, .7, -.3,
              .9, 1, .1, .8,
              .7, .1, 1, .6,
              -.3, .8, .6, 1), 4, 4)
write.csv(A, file.path(outdir, "nearpd_in.csv"), row.names = FALSE)
B <- as.matrix(nearPD(A, corr = TRUE)$mat)
write.csv(B, file.path(outdir, "nearpd_out.csv"), row.names = FALSE)

cat("wrote fixtures to", outdir, "\n")
