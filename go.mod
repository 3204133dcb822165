module github.com/clientcasa/oauthguard

go 1.26
