# Reference values for popaudit.structure.networks and popaudit._kernels.glasso from
# qgraph (EBICglasso, centrality_auto, centralityTable), glasso and NetworkComparisonTest.
#
# Usage:  Rscript tests/r/network_fixtures.R [NCT_SOURCE_DIR] [OUTDIR]
#   NCT_SOURCE_DIR  a directory holding NetworkComparisonTest's R/NCT.R and
#                   R/estimators.R (GitHub cvborkulo/NetworkComparisonTest, version 2.2.2
#                   there; NCT is not packaged in Debian). The script source()s them;
#                   their code is not part of popaudit. Without it the NCT fixtures are
#                   skipped.
#   OUTDIR          default tests/fixtures/networks (relative to the repository root).
#
# Every data set is simulated here (set.seed per data set) and written as <name>.csv.
# For each data set:
#   <name>_cor.csv      the correlation matrix given to EBICglasso (%.17g, so Python reads
#                       the same doubles): Pearson cor() for continuous data, qgraph's
#                       cor_auto() (lavaan lavCor, polychoric / tetrachoric) for the ordinal
#                       and binary sets.
#   <name>.json         n, p, and per EBICglasso variant ("default", "threshold", "refit",
#                       "gamma0", "gamma025"): lambda (ascending, R's grid), ebic, edges
#                       (non-zeros in the lower triangle of each wi, what EBIC counts),
#                       opt (1-based index of the selected lambda), optnet, optwi, and the
#                       messages/warnings qgraph gave; centrality_auto of the default
#                       network (node.centrality) and centralityTable(standardized = TRUE).
#   <name>_path.csv     (sparse and blocks only) the whole glassopath wi, one row per lambda
#                       (ascending), each row wi in column-major order, %.17g.
# NCT fixtures (nct_pearson, nct_ordinal): the two groups' data, NCT's result, and the
# permutations it used. NCT draws s <- sample(1:(n1 + n2), n1) per iteration and nothing
# else from the RNG on the Gaussian path, so replaying set.seed() and the same sample()
# calls recovers them exactly; the script checks that by recomputing a few permutation
# statistics with NCT's own estimator.
suppressPackageStartupMessages({
  library(MASS)
  library(qgraph)
  library(glasso)
  library(Matrix)
  library(reshape2)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
nct_dir <- if (length(args) >= 1) args[[1]] else ""
out <- if (length(args) >= 2) args[[2]] else file.path("tests", "fixtures", "networks")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

write_mat <- function(m, file) {
  m <- as.matrix(m)
  txt <- matrix(sprintf("%.17g", m), nrow = nrow(m))
  write.table(txt, file, sep = ",", quote = FALSE, row.names = FALSE, col.names = FALSE)
}
write_json_file <- function(x, file) {
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, null = "null", na = "null",
                    matrix = "rowmajor"), file)
}

# capture messages and warnings of an expression, keep the value
capture <- function(expr) {
  msgs <- character(0)
  val <- withCallingHandlers(expr,
    message = function(m) { msgs <<- c(msgs, conditionMessage(m)); invokeRestart("muffleMessage") },
    warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = val, messages = msgs)
}

lower_nonzeros <- function(k) sum(k[lower.tri(k)] != 0)

ebic_variant <- function(S, n, ...) {
  r <- capture(EBICglasso(S, n, returnAllResults = TRUE, ...))
  v <- r$value
  wi <- v$results$wi
  list(lambda = v$lambda, ebic = v$ebic,
       edges = sapply(seq_along(v$lambda), function(i) lower_nonzeros(wi[, , i])),
       opt = which.min(v$ebic), optnet = unname(as.matrix(v$optnet)),
       optwi = unname(v$optwi), messages = I(r$messages))
}

chain_precision <- function(p, a, b = 0) {
  K <- diag(p)
  for (i in 1:(p - 1)) K[i, i + 1] <- K[i + 1, i] <- a
  if (b != 0) for (i in 1:(p - 3)) K[i, i + 3] <- K[i + 3, i] <- b
  K
}
cor_of_precision <- function(K) cov2cor(solve(K))
cut_items <- function(Z, cuts) {
  X <- Z
  for (j in seq_len(ncol(Z))) X[, j] <- findInterval(Z[, j], cuts[[((j - 1) %% length(cuts)) + 1]]) + 1
  X
}

datasets <- list()

# 1 sparse: chain GGM, p = 10, n = 400, continuous
set.seed(101)
datasets$sparse <- list(x = mvrnorm(400, rep(0, 10), cor_of_precision(chain_precision(10, 0.4))),
                        corr = "pearson", path = TRUE,
                        description = "chain GGM, p = 10, n = 400, continuous")
# 2 dense: one factor (dense partial correlations), p = 12, n = 250, continuous
set.seed(102)
L <- runif(12, 0.5, 0.8)
Sd <- L %o% L; diag(Sd) <- 1
datasets$dense <- list(x = mvrnorm(250, rep(0, 12), Sd), corr = "pearson", path = FALSE,
                       description = "one factor, p = 12, n = 250, continuous")
# 3 binary: latent chain cut at unequal thresholds, p = 8, n = 600, tetrachoric (cor_auto)
set.seed(103)
Zb <- mvrnorm(600, rep(0, 8), cor_of_precision(chain_precision(8, 0.45)))
datasets$binary <- list(x = cut_items(Zb, list(0, -0.5, 0.4, 0.8)), corr = "cor_auto", path = FALSE,
                        description = "latent chain, binary items, p = 8, n = 600, cor_auto")
# 4 ordinal: two clusters, 5 categories, p = 15, n = 800, polychoric (cor_auto)
set.seed(104)
Ko <- chain_precision(15, 0.3, -0.15)
Zo <- mvrnorm(800, rep(0, 15), cor_of_precision(Ko))
datasets$ordinal <- list(x = cut_items(Zo, list(c(-1.5, -0.5, 0.5, 1.5), c(-1, -0.2, 0.6, 1.3), c(-0.3, 0.3, 0.9, 1.6))),
                         corr = "cor_auto", path = FALSE,
                         description = "chain GGM cut into 5 categories, p = 15, n = 800, cor_auto")
# 5 empty: independent items, p = 8, n = 100 (EBIC picks an empty or nearly empty network)
set.seed(105)
datasets$empty <- list(x = matrix(rnorm(800), 100, 8), corr = "pearson", path = FALSE,
                       description = "independent, p = 8, n = 100, continuous")
# 6 blocks: three independent chains, p = 18, n = 300: several glasso blocks on the path
set.seed(106)
Kb <- as.matrix(bdiag(chain_precision(6, 0.45), chain_precision(6, -0.35), chain_precision(6, 0.3, 0.2)))
datasets$blocks <- list(x = mvrnorm(300, rep(0, 18), cor_of_precision(Kb)), corr = "pearson",
                        path = TRUE, description = "three independent chains, p = 18, n = 300")

index <- data.frame()
for (name in names(datasets)) {
  d <- datasets[[name]]
  x <- d$x
  colnames(x) <- paste0("x", seq_len(ncol(x)))
  write.csv(x, file.path(out, paste0(name, ".csv")), row.names = FALSE)
  S <- if (d$corr == "pearson") cor(x) else suppressMessages(suppressWarnings(cor_auto(as.data.frame(x), verbose = FALSE)))
  S <- unname(as.matrix(S))
  write_mat(S, file.path(out, paste0(name, "_cor.csv")))
  n <- nrow(x)
  variants <- list(default = ebic_variant(S, n),
                   threshold = ebic_variant(S, n, threshold = TRUE),
                   refit = ebic_variant(S, n, refit = TRUE),
                   gamma0 = ebic_variant(S, n, gamma = 0),
                   gamma025 = ebic_variant(S, n, gamma = 0.25))
  net <- variants$default$optnet
  colnames(net) <- rownames(net) <- colnames(x)
  ca <- capture(centrality_auto(net))
  nc <- ca$value$node.centrality
  ct <- capture(centralityTable(net, standardized = TRUE))
  ctab <- ct$value
  res <- list(name = name, n = n, p = ncol(x), corr = d$corr, description = d$description,
              variants = variants,
              # an unweighted network (all weights 0 or 1, e.g. empty) has Degree in the
              # third column instead of Strength: read the columns by position
              centrality_auto = list(node = rownames(nc), betweenness = nc[[1]],
                                     closeness = nc[[2]], strength = nc[[3]],
                                     expected_influence = nc[[4]],
                                     messages = I(ca$messages)),
              centrality_table = list(node = as.character(ctab$node),
                                      measure = sub("^Degree$", "Strength",
                                                    as.character(ctab$measure)),
                                      value = ctab$value, messages = I(ct$messages)))
  write_json_file(res, file.path(out, paste0(name, ".json")))
  if (isTRUE(d$path)) {
    lam <- variants$default$lambda
    gp <- glassopath(S, lam, trace = 0, penalize.diagonal = FALSE)
    p <- ncol(S)
    rows <- t(matrix(gp$wi, nrow = p * p))
    write_mat(rows, file.path(out, paste0(name, "_path.csv")))
  }
  index <- rbind(index, data.frame(name = name, n = n, p = ncol(x), corr = d$corr,
                                   description = d$description))
}
write.csv(index, file.path(out, "datasets.csv"), row.names = FALSE)

# ---------------------------------------------------------------------------------------
# NetworkComparisonTest
# ---------------------------------------------------------------------------------------
versions <- list(R = R.version.string,
                 qgraph = as.character(packageVersion("qgraph")),
                 glasso = as.character(packageVersion("glasso")),
                 lavaan = as.character(packageVersion("lavaan")),
                 Matrix = as.character(packageVersion("Matrix")),
                 igraph = as.character(packageVersion("igraph")))

if (nzchar(nct_dir) && file.exists(file.path(nct_dir, "R", "NCT.R"))) {
  source(file.path(nct_dir, "R", "NCT.R"))
  source(file.path(nct_dir, "R", "estimators.R"))
  desc <- read.dcf(file.path(nct_dir, "DESCRIPTION"))
  versions$NetworkComparisonTest <- unname(desc[1, "Version"])

  # call_nct(x1, x2) calls NCT() directly: NCT's match.call.defaults() cannot digest a
  # function value in its call, which do.call() would put there
  run_nct <- function(name, x1, x2, seed, it, estimator_args, call_nct) {
    colnames(x1) <- colnames(x2) <- paste0("x", seq_len(ncol(x1)))
    n1 <- nrow(x1); n2 <- nrow(x2)
    set.seed(seed)
    res <- suppressMessages(suppressWarnings(call_nct(x1, x2)))
    # replay the permutation draws
    set.seed(seed)
    perms <- t(sapply(seq_len(it), function(i) sample(1:(n1 + n2), n1, replace = FALSE)))
    # check a few against NCT's own statistics with NCT's own estimator
    dataall <- rbind(x1, x2)
    for (i in unique(c(1, 2, it))) {
      s <- perms[i, ]
      r1 <- do.call(NCT_estimator_GGM, c(list(dataall[s, ]), estimator_args))
      r2 <- do.call(NCT_estimator_GGM, c(list(dataall[-s, ]), estimator_args))
      m <- max(abs(r1 - r2)[upper.tri(r1)])
      if (abs(m - res$nwinv.perm[i]) > 1e-12) stop("permutation replay does not match NCT")
    }
    write.csv(x1, file.path(out, paste0(name, "_group1.csv")), row.names = FALSE)
    write.csv(x2, file.path(out, paste0(name, "_group2.csv")), row.names = FALSE)
    write.table(perms, file.path(out, paste0(name, "_perms.csv")), sep = ",",
                row.names = FALSE, col.names = FALSE)
    p <- ncol(x1)
    ut <- upper.tri(matrix(0, p, p))
    out_list <- list(name = name, seed = seed, it = it, n1 = n1, n2 = n2, p = p,
                     estimator_args = estimator_args, call = deparse(body(call_nct)),
                     nwinv_real = res$nwinv.real, nwinv_perm = res$nwinv.perm,
                     nwinv_pval = res$nwinv.pval,
                     glstrinv_real = res$glstrinv.real, glstrinv_sep = res$glstrinv.sep,
                     glstrinv_perm = res$glstrinv.perm, glstrinv_pval = res$glstrinv.pval,
                     nw1 = unname(as.matrix(res$nw1)), nw2 = unname(as.matrix(res$nw2)))
    if (!is.null(res$einv.pvals)) {
      out_list$einv_var1 <- as.character(res$einv.pvals$Var1)
      out_list$einv_var2 <- as.character(res$einv.pvals$Var2)
      out_list$einv_pvals <- res$einv.pvals[["p-value"]]
      out_list$einv_real <- unname(res$einv.real[ut])
      # it x nedges, columns in R's upper.tri order (column-major)
      out_list$einv_perm <- t(apply(res$einv.perm, 3, function(m) m[ut]))
    }
    if (!is.null(res$diffcen.real)) {
      out_list$diffcen_measures <- colnames(res$diffcen.real)
      out_list$diffcen_real <- unname(res$diffcen.real)
      out_list$diffcen_pval <- unname(res$diffcen.pval)
      out_list$diffcen_perm <- unname(res$diffcen.perm)
    }
    write_json_file(out_list, file.path(out, paste0(name, ".json")))
  }

  # Pearson, two groups differing in one edge, edge and centrality tests, Holm
  set.seed(201)
  Ka <- chain_precision(8, 0.35)
  Kb2 <- Ka; Kb2[1, 2] <- Kb2[2, 1] <- 0; Kb2[3, 6] <- Kb2[6, 3] <- 0.3
  g1 <- mvrnorm(160, rep(0, 8), cor_of_precision(Ka))
  g2 <- mvrnorm(140, rep(0, 8), cor_of_precision(Kb2))
  t0 <- proc.time()
  run_nct("nct_pearson", g1, g2, seed = 2024, it = 200,
          estimator_args = list(make.positive.definite = TRUE, gamma = 0.5),
          call_nct = function(x1, x2) NCT(x1, x2, it = 200, progressbar = FALSE,
                                          test.edges = TRUE, edges = "all",
                                          test.centrality = TRUE,
                                          centrality = c("strength", "expectedInfluence"),
                                          p.adjust.methods = "holm"))
  versions$nct_pearson_seconds <- unname((proc.time() - t0)[3])

  # polychoric (cor_auto), five categories, global tests only
  set.seed(202)
  Ko2 <- chain_precision(6, 0.4)
  z1 <- mvrnorm(200, rep(0, 6), cor_of_precision(Ko2))
  z2 <- mvrnorm(200, rep(0, 6), cor_of_precision(Ko2))
  cuts <- list(c(-1.5, -0.5, 0.5, 1.5), c(-1, -0.2, 0.6, 1.3))
  t0 <- proc.time()
  est_args <- list(make.positive.definite = TRUE, gamma = 0.5, corMethod = "cor_auto")
  run_nct("nct_ordinal", cut_items(z1, cuts), cut_items(z2, cuts), seed = 2025, it = 40,
          estimator_args = est_args,
          call_nct = function(x1, x2) NCT(x1, x2, it = 40, progressbar = FALSE,
                                          estimator = NCT_estimator_GGM,
                                          estimatorArgs = est_args))
  versions$nct_ordinal_seconds <- unname((proc.time() - t0)[3])
} else {
  message("NetworkComparisonTest sources not given: NCT fixtures skipped")
}
write_json_file(versions, file.path(out, "versions.json"))
