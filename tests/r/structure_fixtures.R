# Reference outputs from R's psych for tests/test_structure.py.
#
# Run from the repository root (needs psych, MASS, jsonlite):
#     Rscript tests/r/structure_fixtures.R
# It simulates pairs of correlation matrices from a fixed seed and writes them,
# with psych::cortest.jennrich and psych::cortest.normal on them, to
# tests/fixtures/structure/cortest.json. It also writes Jennrich's (1970)
# statistic computed from the paper's formula, which psych's version differs from.
suppressPackageStartupMessages({
  library(psych)
  library(MASS)
  library(jsonlite)
})

out <- file.path("tests", "fixtures", "structure")
dir.create(out, recursive = TRUE, showWarnings = FALSE)
set.seed(20250611)

# Jennrich (1970), eq. for chi^2 with S = I + R o R^{-1} and tr(Z^2)
jennrich1970 <- function(R1, R2, n1, n2) {
  p <- ncol(R1)
  c <- n1 * n2 / (n1 + n2)
  R <- (n1 * R1 + n2 * R2) / (n1 + n2)
  R.inv <- solve(R)
  Z <- sqrt(c) * R.inv %*% (R1 - R2)
  S <- diag(p) + R * R.inv
  dz <- diag(Z)
  sum(diag(Z %*% Z)) / 2 - as.numeric(t(dz) %*% solve(S) %*% dz)
}

one_factor <- function(p, load) {
  R <- matrix(load^2, p, p)
  diag(R) <- 1
  R
}

cases <- list()
add_case <- function(name, R1, R2, n1, n2) {
  jp <- cortest.jennrich(R1, R2, n1 = n1, n2 = n2)
  st <- suppressWarnings(cortest.normal(R1, R2, n1 = n1, n2 = n2))
  cases[[length(cases) + 1]] <<- list(
    name = name, p = ncol(R1), n1 = n1, n2 = n2,
    r1 = unname(R1), r2 = unname(R2),
    jennrich_psych_chi2 = jp$chi2, jennrich_psych_p = jp$prob,
    jennrich1970_chi2 = jennrich1970(R1, R2, n1, n2),
    steiger_chi2 = st$chi2, steiger_p = st$prob, steiger_df = st$df)
}

sample_r <- function(Sigma, n) cor(mvrnorm(n, rep(0, ncol(Sigma)), Sigma))

# 1: same population, p = 4, unequal n
S1 <- one_factor(4, 0.7)
add_case("same_p4", sample_r(S1, 300), sample_r(S1, 150), 300, 150)
# 2: different populations, p = 6
S2a <- one_factor(6, 0.6)
S2b <- one_factor(6, 0.4)
add_case("different_p6", sample_r(S2a, 400), sample_r(S2b, 250), 400, 250)
# 3: two-factor structure vs one factor, p = 8, equal n
L <- cbind(c(.7, .6, .5, .6, 0, 0, 0, .1), c(0, .1, 0, 0, .7, .6, .5, .6))
S3a <- L %*% t(L); diag(S3a) <- 1
add_case("twofactor_p8", sample_r(S3a, 500), sample_r(one_factor(8, 0.5), 500), 500, 500)
# 4: identity population, p = 5 (both forms of Jennrich agree near R = I)
add_case("identity_p5", sample_r(diag(5), 200), sample_r(diag(5), 200), 200, 200)
# 5: p = 2, hand-checkable
R5a <- matrix(c(1, .6, .6, 1), 2)
R5b <- matrix(c(1, .2, .2, 1), 2)
add_case("hand_p2", R5a, R5b, 100, 100)

res <- list(cases = cases,
            versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                            psych = as.character(packageVersion("psych"))))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "cortest.json"))
cat("wrote", file.path(out, "cortest.json"), "\n")
