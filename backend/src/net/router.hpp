#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatd::net {

using PathParams = std::unordered_map<std::string, std::string>;

// Matches "METHOD /a/{name}/b" patterns against decoded path segments. The pattern text is
// what metrics use as the route label, so label values stay bounded.
template <class Handler>
class Router {
  public:
    struct Match {
        const Handler* handler;
        std::string_view pattern;
        PathParams params;
        bool method_allowed;
    };

    void add(std::string method, std::string pattern, Handler handler) {
        routes_.push_back(Route{std::move(method), pattern, split(pattern), std::move(handler)});
    }

    // nullopt: no route has this path. method_allowed false: the path exists for other methods.
    std::optional<Match> match(std::string_view method,
                               const std::vector<std::string>& segments) const {
        std::optional<Match> path_only;
        for (const auto& route : routes_) {
            PathParams params;
            if (!matches(route.segments, segments, params)) continue;
            if (route.method == method)
                return Match{&route.handler, route.pattern, std::move(params), true};
            if (!path_only) path_only = Match{nullptr, route.pattern, {}, false};
        }
        return path_only;
    }

    static std::vector<std::string> split(std::string_view path) {
        std::vector<std::string> out;
        std::size_t start = 0;
        while (start <= path.size()) {
            const auto slash = path.find('/', start);
            const auto end = slash == std::string_view::npos ? path.size() : slash;
            if (end > start) out.emplace_back(path.substr(start, end - start));
            if (slash == std::string_view::npos) break;
            start = slash + 1;
        }
        return out;
    }

  private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        Handler handler;
    };

    static bool matches(const std::vector<std::string>& pattern,
                        const std::vector<std::string>& segments,
                        PathParams& params) {
        if (pattern.size() != segments.size()) return false;
        for (std::size_t i = 0; i < pattern.size(); ++i) {
            const auto& p = pattern[i];
            if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
                if (segments[i].empty()) return false;
                params.emplace(p.substr(1, p.size() - 2), segments[i]);
            } else if (p != segments[i]) {
                return false;
            }
        }
        return true;
    }

    std::vector<Route> routes_;
};

}  // namespace chatd::net
