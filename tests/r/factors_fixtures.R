# Reference outputs from R's psych for tests/test_factors.py and tests/test_inglehart_welzel.py.
#
# Run from the repository root (needs psych, GPArotation, jsonlite):
#     Rscript tests/r/factors_fixtures.R
# It simulates its own inputs from a fixed seed, writes them next to psych's results in
# tests/fixtures/factors/, and prints the package versions into versions.json.
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

out <- file.path("tests", "fixtures", "factors")
dir.create(out, recursive = TRUE, showWarnings = FALSE)
set.seed(20240611)

write_mat <- function(m, name) {
  m <- as.matrix(unclass(m))
  write.csv(m, file.path(out, paste0(name, ".csv")), row.names = TRUE)
}
write_json_file <- function(x, name) {
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE),
             file.path(out, paste0(name, ".json")))
}

simulate <- function(L, n) {
  f <- matrix(rnorm(n * ncol(L)), n)
  e <- matrix(rnorm(n * nrow(L)), n) %*% diag(sqrt(1 - rowSums(L^2)))
  f %*% t(L) + e
}

# --- case A: Pearson correlations of 2-factor continuous data, p = 10, n = 500 -------------
LA <- matrix(c(.80, .10, .70, .20, .60, .00, .50, .30, .40, .10,
               .10, .70, .20, .60, .00, .50, .30, .40, .10, .30), ncol = 2, byrow = TRUE)
XA <- simulate(LA, 500)
colnames(XA) <- paste0("A", 1:10)
RA <- cor(XA)

# --- case B: polychoric correlations of 5-category items from 3-factor data, p = 12, n = 800
LB <- matrix(0, 12, 3)
LB[1:4, 1] <- c(.75, .70, .65, .55)
LB[5:8, 2] <- c(.70, .65, .60, .50)
LB[9:12, 3] <- c(.70, .60, .55, .45)
LB[4, 2] <- .30
LB[8, 3] <- .25
XB <- simulate(LB, 800)
cuts <- c(-Inf, -1.2, -0.3, 0.4, 1.1, Inf)
OB <- apply(XB, 2, function(x) as.integer(cut(x, cuts)))
colnames(OB) <- paste0("B", 1:12)
RB <- polychoric(OB)$rho

cases <- list(A = list(r = RA, n = 500, k = 2), B = list(r = RB, n = 800, k = 3))
fits <- list(c("minres", "varimax"), c("ml", "varimax"), c("minres", "oblimin"),
             c("minres", "promax"), c("ml", "none"))

for (cs in names(cases)) {
  r <- cases[[cs]]$r
  write_mat(r, paste0("corr_", cs))
  for (ft in fits) {
    f <- fa(r, nfactors = cases[[cs]]$k, n.obs = cases[[cs]]$n, fm = ft[1], rotate = ft[2])
    tag <- paste(cs, ft[1], ft[2], sep = "_")
    write_mat(f$loadings, paste0("loadings_", tag))
    stats <- list(
      n_obs = cases[[cs]]$n, n_factors = cases[[cs]]$k, fm = ft[1], rotate = ft[2],
      objective = f$objective, STATISTIC = f$STATISTIC, dof = f$dof, PVAL = f$PVAL,
      RMSEA = unname(f$RMSEA[1]), RMSEA_lower = unname(f$RMSEA[2]),
      RMSEA_upper = unname(f$RMSEA[3]), TLI = f$TLI, BIC = f$BIC,
      null_chisq = f$null.chisq, null_dof = f$null.dof, null_model = f$null.model,
      chi = f$chi, rms = f$rms, crms = f$crms, fit_off = f$fit.off,
      uniquenesses = unname(f$uniquenesses), communality = unname(f$communality)
    )
    if (!is.null(f$Phi)) {
      write_mat(f$Phi, paste0("phi_", tag))
    }
    write_json_file(stats, paste0("stats_", tag))
  }
  kmo <- KMO(r)
  bt <- cortest.bartlett(r, n = cases[[cs]]$n)
  write_json_file(list(MSA = kmo$MSA, MSAi = unname(kmo$MSAi), chisq = bt$chisq,
                       p_value = bt$p.value, df = bt$df), paste0("adequacy_", cs))
}

# --- congruence and oblique target rotation ----------------------------------------------
fA1 <- fa(RA, 2, n.obs = 500, fm = "minres", rotate = "varimax")$loadings
fA2 <- fa(RA, 2, n.obs = 500, fm = "ml", rotate = "none")$loadings
write_mat(factor.congruence(fA1, fA2, digits = 15), "congruence_A_minres_varimax_vs_ml_none")
write_mat(factor.congruence(fA1, LA, digits = 15), "congruence_A_minres_varimax_vs_truth")
fB1 <- fa(RB, 3, n.obs = 800, fm = "minres", rotate = "varimax")$loadings
fB2 <- fa(RB, 3, n.obs = 800, fm = "minres", rotate = "oblimin")$loadings
write_mat(factor.congruence(fB1, fB2, digits = 15), "congruence_B_minres_varimax_vs_minres_oblimin")
tr <- target.rot(unclass(fA2), keys = LA)
write_mat(LA, "truth_A")
write_mat(tr$loadings, "targetrot_A_ml_none_to_truth")
write_mat(tr$Phi, "targetrot_phi_A_ml_none_to_truth")

# --- Inglehart-Welzel official pipeline: weighted pairwise Pearson, PCA, varimax ------------
# Ten indicator columns in raw WVS-7 coding with holes and survey weights; the weighted
# pairwise correlations are computed here by a plain loop over pairs (a reference
# implementation independent of popaudit's matrix-product one).
n <- 600
LI <- matrix(c(-.70, .05,  .55, .10,  .60, .25,  .45, -.05,  .45, .05,
                .15, .55,  .05, -.45,  .30, .65,  .05, -.45,  .05, -.40), ncol = 2, byrow = TRUE)
ZI <- simulate(LI, n)
ranges <- list(c(1, 10), c(-2, 2), c(1, 10), c(1, 4), c(1, 3), c(1, 3), c(1, 4), c(1, 10),
               c(1, 3), c(1, 2))
XI <- sapply(1:10, function(j) {
  lo <- ranges[[j]][1]; hi <- ranges[[j]][2]
  k <- hi - lo + 1
  br <- qnorm(seq(0, 1, length.out = k + 1))
  lo - 1 + as.integer(cut(ZI[, j], br))
})
colnames(XI) <- c("Q164", "Y003", "Q184", "Q254", "Q45", "Y002", "Q46", "Q182", "Q209", "Q57")
XI[cbind(sample(n, 300, replace = TRUE), sample(10, 300, replace = TRUE))] <- NA
w <- round(runif(n, 0.3, 2.5), 3)
p <- ncol(XI)
RI <- diag(p)
NI <- matrix(0, p, p)
for (i in 1:p) for (j in 1:p) {
  ok <- !is.na(XI[, i]) & !is.na(XI[, j])
  RI[i, j] <- cov.wt(cbind(XI[ok, i], XI[ok, j]), wt = w[ok] / sum(w[ok]), cor = TRUE)$cor[1, 2]
  NI[i, j] <- sum(ok)
}
RI <- (RI + t(RI)) / 2  # the loop computes each pair twice; equal up to rounding
diag(RI) <- 1
dimnames(RI) <- list(colnames(XI), colnames(XI))
write.csv(data.frame(XI, weight = w), file.path(out, "iw_data.csv"), row.names = FALSE, na = "")
write_mat(RI, "iw_weighted_pairwise_corr")
# principal(rotate = "varimax") calls stats::varimax with eps = 1e-5, which stops short of the
# varimax optimum here (by 5e-4 in a loading); SPSS's rotation converges, so iterate to 1e-14.
pc <- principal(RI, nfactors = 2, rotate = "none")
vm <- varimax(unclass(pc$loadings), normalize = TRUE, eps = 1e-14)
write_mat(vm$loadings, "iw_principal_varimax_loadings")
write_mat(solve(RI, unclass(vm$loadings)), "iw_principal_varimax_weights")
write_json_file(list(values = unname(pc$values)), "iw_principal_eigenvalues")

write_json_file(list(R = R.version.string, psych = as.character(packageVersion("psych")),
                     GPArotation = as.character(packageVersion("GPArotation")),
                     seed = 20240611), "versions")
