#include "failure.hpp"

#include <ostream>
#include <system_error>

#include "../exit_codes.hpp"
#include "store/store.hpp"

namespace actiondrop::cli {

int report_failure(std::exception_ptr failure, std::ostream& err) {
    try {
        std::rethrow_exception(failure);
    } catch (const UsageError& e) {
        err << "actiondrop: " << e.what() << "\n";
        return exit_code::usage;
    } catch (const ConfigFailure& e) {
        err << e.what();
        return exit_code::config;
    } catch (const store::StoreError& e) {
        err << "actiondrop: store failure: " << e.what() << "\n";
        return exit_code::io;
    } catch (const std::system_error& e) {
        err << "actiondrop: " << e.what() << "\n";
        return exit_code::io;
    } catch (const std::exception& e) {
        err << "actiondrop: internal error: " << e.what() << "\n";
        return exit_code::software;
    } catch (...) {
        err << "actiondrop: internal error: an exception that is not a std::exception\n";
        return exit_code::software;
    }
}

}  // namespace actiondrop::cli
